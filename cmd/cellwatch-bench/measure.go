package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// row is one line of the report.
type row struct {
	scenario, target, server string
	unit                     string // what throughput counts: datums/s, queries/s...
	res                      result
	cpu                      time.Duration // server CPU over the run
	rss                      int64         // server RSS at the end
	bytesPerDatum            float64       // on disk after the run / datums acknowledged
	floor                    float64       // the machine's floor for this row, in unit (0: none)
	peer                     float64       // best peer's throughput on the same load (0: none)
	note                     string
}

// measure runs calls against s and reads s's CPU, RSS and disk around it.
func (b *bench) measure(ctx context.Context, scenario, target string, s *server, calls []call, d time.Duration) row {
	before, _ := s.usage()
	b.logf("%s %s → %s: %d pre-encoded requests, %d connections, %s", scenario, target, s.name, len(calls), b.concurrency, d)
	res := runLoad(ctx, b.client, s.url, calls, b.concurrency, d, func(line string) { b.logf("  %s %s", s.name, line) })
	after, _ := s.usage()
	r := row{scenario: scenario, target: target, server: s.name, unit: "datums/s", res: res, cpu: after.cpu - before.cpu, rss: after.rss}
	if res.datums > 0 && s.dataDir != "" {
		r.bytesPerDatum = float64(diskBytes(s.dataDir)) / float64(res.datums)
	}
	if res.errors > 0 {
		r.note = fmt.Sprintf("%d errors, first: %.120s", res.errors, res.firstError)
	}
	return r
}

// metricSum is the sum of every sample of the named metric on a
// Prometheus text exposition at url (0 when absent).
func metricSum(ctx context.Context, client *http.Client, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("build metrics request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get metrics: %w", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum += v
		}
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("read metrics: %w", err)
	}
	return sum, nil
}
