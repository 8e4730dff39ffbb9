package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// report prints the Markdown table of b's rows.
func (b *bench) report(w io.Writer, took time.Duration) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n## cellwatch-bench, %s, %s, %d cores (%s in all, one-time peer builds included when they ran)\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, cores(), took.Round(time.Second))
	fmt.Fprintln(w, "| scenario | target | server | throughput | p50 | p90 | p99 | server CPU s | RSS MB | bytes/datum | vs floor | vs best peer | note |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range b.rows {
		fmt.Fprintln(w, r.markdown())
	}
	fmt.Fprintln(w, "\nfloor: decode = internal/awsapi.ReadRequest on the pre-encoded bodies on one goroutine (datums/s per core); "+
		"a PutMetricData row's floor is that × cores. Disk floors are sequential write+fsync in the temp dir.")
}

func (r row) markdown() string {
	cells := []string{r.scenario, r.target, r.server}
	switch {
	case r.scenario == "floor":
		cells = append(cells, fmt.Sprintf("%s %s", human(r.floor), r.unit), "", "", "", "", "", "", "", "")
	case r.res.requests == 0 && r.note != "":
		cells = append(cells, "", "", "", "", "", "", "", "", "")
	default:
		t := r.res.throughput()
		cells = append(cells, fmt.Sprintf("%s %s", human(t), r.unit), fmtDur(r.res.p50), fmtDur(r.res.p90), fmtDur(r.res.p99),
			fmt.Sprintf("%.1f", r.cpu.Seconds()), fmt.Sprintf("%.0f", float64(r.rss)/(1<<20)), num(r.bytesPerDatum, "%.0f"),
			ratioCell(t, r.floor), ratioCell(t, r.peer))
	}
	cells = append(cells, strings.Join(strings.Fields(strings.ReplaceAll(r.note, "|", "/")), " "))
	return "| " + strings.Join(cells, " | ") + " |"
}

func ratioCell(a, b float64) string {
	if a == 0 || b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func num(v float64, format string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(format, v)
}

// human is v with a thousands separator (or two decimals under 100).
func human(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.2f", v)
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
