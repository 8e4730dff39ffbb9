package insights

import (
	"strconv"
	"testing"
)

// benchEvents are 1024 plain-text request lines, timestamps out of order
// (as two streams scanned one after the other).
func benchEvents() ([]Event, int) {
	evs := make([]Event, 1024)
	size := 0
	for i := range evs {
		ts := int64((i*389)%1024) * 1000
		evs[i] = Event{Timestamp: ts, Message: "2026-01-01T00:00:00Z INFO request id=" + strconv.Itoa(i) + " served in " + strconv.Itoa((i*7919)%5000) + "ms from upstream cache", Group: "g", Stream: "s"}
		size += len(evs[i].Message)
	}
	return evs, size
}

func benchQuery(b *testing.B, query string) {
	q, err := Parse(query)
	if err != nil {
		b.Fatal(err)
	}
	evs, size := benchEvents()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		r := q.NewRun(Options{})
		for j := range evs {
			r.Add(&evs[j])
		}
		r.Results()
	}
}

func BenchmarkStatsCountByBin(b *testing.B) { benchQuery(b, "stats count(*) by bin(1m)") }

// BenchmarkSortLimit is a top-20 by a parsed number: most events are
// refused by one comparison with the heap's root.
func BenchmarkSortLimit(b *testing.B) {
	benchQuery(b, `parse @message "served in *ms" as ms | sort ms desc | limit 20`)
}

// BenchmarkNewestLimit is the default order (@timestamp desc) with a limit.
func BenchmarkNewestLimit(b *testing.B) { benchQuery(b, "fields @timestamp, @message | limit 20") }

// BenchmarkPct is percentiles per minute (exact: under pctExactMax values
// per group) and over all events with the sketch (pctExactMax exceeded by
// repeating the events).
func BenchmarkPct(b *testing.B) {
	benchQuery(b, `parse @message "served in *ms" as ms | stats pct(ms, 50), pct(ms, 99) by bin(1m)`)
}

func BenchmarkPctSketch(b *testing.B) {
	q, err := Parse(`parse @message "served in *ms" as ms | stats pct(ms, 99)`)
	if err != nil {
		b.Fatal(err)
	}
	evs, size := benchEvents()
	b.SetBytes(int64(4 * size))
	b.ReportAllocs()
	for b.Loop() {
		r := q.NewRun(Options{})
		for range 4 {
			for j := range evs {
				r.Add(&evs[j])
			}
		}
		r.Results()
	}
}
