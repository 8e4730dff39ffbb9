package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// writeOnce sends every call once from b.concurrency connections and
// returns the datums acknowledged.
func (b *bench) writeOnce(ctx context.Context, s *server, calls []call) (int64, error) {
	res := runLoadOnce(ctx, b.client, s.url, calls, b.concurrency)
	if res.errors > 0 {
		return res.datums, fmt.Errorf("write: %d of %d requests failed, first: %s", res.errors, len(calls), res.firstError)
	}
	return res.datums, nil
}

// runLoadOnce is runLoad over exactly the calls, once each.
func runLoadOnce(ctx context.Context, client *http.Client, base string, calls []call, concurrency int) result {
	sent := make(chan call)
	go func() {
		defer close(sent)
		for _, c := range calls {
			select {
			case sent <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	var out result
	type one struct {
		datums int
		err    string
	}
	got := make(chan one)
	for range concurrency {
		go func() {
			for c := range sent {
				got <- one{c.datums, sendOnce(ctx, client, base, c)}
			}
		}()
	}
	for range calls {
		o := <-got
		if o.err != "" {
			out.errors++
			if out.firstError == "" {
				out.firstError = o.err
			}
			continue
		}
		out.requests++
		out.datums += int64(o.datums)
	}
	return out
}

// sendOnce sends c and returns "" when it is answered 2xx, else why not.
func sendOnce(ctx context.Context, client *http.Client, base string, c call) string {
	req, err := c.request(ctx, base)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Sprintf("%d %.200s", resp.StatusCode, body)
	}
	return ""
}

// jsonCall is a JSON 1.0 call of op with in as its body.
func jsonCall(op string, in any) (call, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return call{}, fmt.Errorf("encode %s: %w", op, err)
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amz-Target": {"GraniteServiceVersion20100801." + op}}
	return call{path: "/", header: h, body: body, datums: 1}, nil
}

// hostDims are the dimensions of the shape's series s.
func (shape loadShape) hostDims(s int) []map[string]string {
	svc, host, _ := shape.datum(s)
	return []map[string]string{{"Name": "Service", "Value": svc}, {"Name": "Host", "Value": host}}
}

// getMetricData fills a node with the shape and then asks a mix of
// GetMetricData (5 MetricStat queries and a math expression over them)
// and GetMetricStatistics calls over the last 10 minutes.
func (b *bench) getMetricData(ctx context.Context) error {
	ts := time.Now().Truncate(time.Second)
	s, _, err := b.nodeWith(ctx, "cbor", ts, true)
	if err != nil {
		return err
	}
	defer s.stop()
	start, end := ts.Add(-10*time.Minute).Unix(), ts.Add(time.Minute).Unix()
	var calls []call
	for i := range 200 {
		var qs []map[string]any
		for j := range 5 {
			series := (i*5 + j) * 7919 % b.shape.series
			qs = append(qs, map[string]any{"Id": "m" + strconv.Itoa(j), "ReturnData": false, "MetricStat": map[string]any{
				"Metric": map[string]any{"Namespace": "Bench", "MetricName": "Latency", "Dimensions": b.shape.hostDims(series)},
				"Period": 60, "Stat": []string{"Average", "Sum", "p99", "Maximum", "SampleCount"}[j]}})
		}
		qs = append(qs, map[string]any{"Id": "e", "Expression": "SUM(METRICS())"})
		c, err := jsonCall("GetMetricData", map[string]any{"StartTime": start, "EndTime": end, "MetricDataQueries": qs})
		if err != nil {
			return err
		}
		calls = append(calls, c)
		c, err = jsonCall("GetMetricStatistics", map[string]any{"Namespace": "Bench", "MetricName": "Latency",
			"Dimensions": b.shape.hostDims(i * 31 % b.shape.series), "StartTime": start, "EndTime": end, "Period": 60,
			"Statistics": []string{"SampleCount", "Average", "Maximum"}})
		if err != nil {
			return err
		}
		calls = append(calls, c)
	}
	stop := b.startProfile(ctx, s, "get-metric-data")
	r := b.measure(ctx, "get-metric-data", fmt.Sprintf("GetMetricData 5 stats + math / GetMetricStatistics, %d series", b.shape.series), s, calls, b.duration)
	stop()
	r.unit, r.bytesPerDatum = "requests/s", 0
	b.add(r)
	return nil
}

// promql fills a node and sends a query / query_range mix to /api/v1.
func (b *bench) promql(ctx context.Context) error {
	ts := time.Now().Truncate(time.Second)
	s, _, err := b.nodeWith(ctx, "cbor", ts, true)
	if err != nil {
		return err
	}
	defer s.stop()
	var calls []call
	for i := range 200 {
		_, host, _ := b.shape.datum(i * 7919 % b.shape.series)
		svc, _, _ := b.shape.datum(i)
		instant := url.Values{"query": {fmt.Sprintf(`Latency{Host=%q,stat="sum"}`, host)}, "time": {strconv.FormatInt(ts.Unix(), 10)}}
		agg := url.Values{"query": {fmt.Sprintf(`sum by (Service) (Latency{Service=%q,stat="sum"})`, svc)}, "time": {strconv.FormatInt(ts.Unix(), 10)}}
		rng := url.Values{"query": {fmt.Sprintf(`max_over_time(Latency{Host=%q,stat="max"}[5m])`, host)},
			"start": {strconv.FormatInt(ts.Add(-30*time.Minute).Unix(), 10)}, "end": {strconv.FormatInt(ts.Unix(), 10)}, "step": {"60"}}
		calls = append(calls, call{method: http.MethodGet, path: "/api/v1/query?" + instant.Encode(), datums: 1},
			call{method: http.MethodGet, path: "/api/v1/query?" + agg.Encode(), datums: 1},
			call{method: http.MethodGet, path: "/api/v1/query_range?" + rng.Encode(), datums: 1})
	}
	stop := b.startProfile(ctx, s, "promql")
	r := b.measure(ctx, "promql", "query (series, sum by) / query_range 30m", s, calls, b.duration)
	stop()
	r.unit, r.bytesPerDatum = "requests/s", 0
	b.add(r)
	return nil
}

// nodeWith starts a node and encodes the shape's PutMetricData calls in p
// at ts; with fill, it sends each once before returning.
func (b *bench) nodeWith(ctx context.Context, p string, ts time.Time, fill bool) (*server, []call, error) {
	calls, err := b.putCalls(ctx, p, ts)
	if err != nil {
		return nil, nil, err
	}
	s, err := b.startCellwatch(ctx)
	if err != nil {
		return nil, nil, err
	}
	if fill {
		if _, err := b.writeOnce(ctx, s, calls); err != nil {
			s.stop()
			return nil, nil, err
		}
	}
	return s, calls, nil
}
