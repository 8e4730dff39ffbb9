package insights

import (
	"strconv"
	"testing"
)

func BenchmarkStatsCountByBin(b *testing.B) {
	q, err := Parse("stats count(*) by bin(1m)")
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]Event, 1024)
	size := 0
	for i := range evs {
		evs[i] = Event{Timestamp: int64(i) * 1000, Message: "2026-01-01T00:00:00Z INFO request id=" + strconv.Itoa(i) + " served in 12ms from upstream cache", Group: "g", Stream: "s"}
		size += len(evs[i].Message)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		r := q.NewRun(Options{})
		for j := range evs {
			r.Add(&evs[j])
		}
	}
}
