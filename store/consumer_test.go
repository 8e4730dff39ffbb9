package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/backoff"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/record"
)

var (
	errFakeUnavailable = errors.New("fake stream unavailable")
	errFakeOutOfRange  = errors.New("fake offset out of range")
)

// fakeSource is an in-memory partitioned log. Fetch at the end blocks until
// more is appended or ctx is done, and reports the offset it waits at.
type fakeSource struct {
	mu      sync.Mutex
	parts   [][]StreamMessage // retained messages, oldest first
	oldest  []int64
	failing int           // Fetch calls still to fail
	changed chan struct{} // closed and replaced on every change
	waiting []int64       // per partition: offset of the last Fetch that waited at the end, -1
}

func newFakeSource(partitions int) *fakeSource {
	f := &fakeSource{parts: make([][]StreamMessage, partitions), oldest: make([]int64, partitions),
		changed: make(chan struct{}), waiting: make([]int64, partitions)}
	for p := range f.waiting {
		f.waiting[p] = -1
	}
	return f
}

func (f *fakeSource) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSource) end(p int) int64 { return f.oldest[p] + int64(len(f.parts[p])) }

func (f *fakeSource) append(p int, values ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range values {
		f.parts[p] = append(f.parts[p], StreamMessage{Offset: f.end(p), Value: v})
	}
	f.notifyLocked()
}

// dropBefore removes the messages of p below off (retention).
func (f *fakeSource) dropBefore(p int, off int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parts[p] = f.parts[p][off-f.oldest[p]:]
	f.oldest[p] = off
	f.notifyLocked()
}

func (f *fakeSource) Partitions() int { return len(f.parts) }

func (f *fakeSource) Bounds(_ context.Context, p int) (int64, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oldest[p], f.end(p), nil
}

func (f *fakeSource) Fetch(ctx context.Context, p int, off int64, maxBytes int) ([]StreamMessage, error) {
	for {
		f.mu.Lock()
		if f.failing > 0 {
			f.failing--
			f.mu.Unlock()
			return nil, errFakeUnavailable
		}
		if off < f.oldest[p] || off > f.end(p) {
			f.mu.Unlock()
			return nil, errFakeOutOfRange
		}
		if off < f.end(p) {
			var out []StreamMessage
			n := 0
			for _, m := range f.parts[p][off-f.oldest[p]:] {
				if len(out) > 0 && n+len(m.Value) > maxBytes {
					break
				}
				out = append(out, m)
				n += len(m.Value)
			}
			f.mu.Unlock()
			return out, nil
		}
		f.waiting[p] = off
		f.notifyLocked()
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// waitAt blocks until the consumer of p waits at offset off (everything
// before it is applied).
func (f *fakeSource) waitAt(t *testing.T, p int, off int64) {
	t.Helper()
	timeout := time.After(20 * time.Second) // a failure guard, not synchronisation
	for {
		f.mu.Lock()
		at, ch := f.waiting[p], f.changed
		f.mu.Unlock()
		if at == off {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("partition %d: consumer waits at %d; want %d", p, at, off)
		}
	}
}

// shipped encodes a KindMetrics message with one datum per value.
func shipped(origin string, walOff uint64, p int, minute int, values ...float64) ([]byte, record.Metrics) {
	m := record.Metrics{Tenant: "t1", Namespace: "App"}
	for _, v := range values {
		m.Datums = append(m.Datums, datum("M", dims("P", fmt.Sprint(p)), "None", t0.Add(time.Duration(minute)*time.Minute), v))
	}
	return record.AppendShipped(nil, &record.Shipped{Origin: origin, Offset: walOff, Kind: record.KindMetrics,
		Body: record.AppendMetrics(nil, &m)}), m
}

func startConsumer(t *testing.T, lt *LongTerm, src PartitionSource, reg prometheus.Registerer) *Consumer {
	t.Helper()
	c := NewConsumer(lt, src, ConsumerConfig{
		MaxFetchBytes: 300, // a few messages per batch
		Backoff:       backoff.Config{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	}, reg, nil)
	if err := services.StartAndAwaitRunning(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = services.StopAndAwaitTerminated(context.Background(), c) })
	return c
}

func TestConsumer(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	dir := t.TempDir()
	lt := openTestLongTerm(t, dir, clock, nil)
	closeOnCleanup(t, &lt)
	src := newFakeSource(2)
	want := model{}
	walOff := map[string]uint64{}
	// add appends n messages to p from origin (ascending WAL offsets).
	add := func(p int, origin string, n int) {
		for i := range n {
			walOff[origin] += 10
			v, m := shipped(origin, walOff[origin], p, i%30, float64(i), float64(i%7))
			want.apply(&m, clock.now().Unix())
			src.append(p, v)
		}
	}
	add(0, "a", 40)
	add(1, "b", 25)
	add(0, "b", 10)
	src.failing = 3 // the stream fails at first
	reg := prometheus.NewRegistry()
	c := startConsumer(t, lt, src, reg)
	src.waitAt(t, 0, 50)
	src.waitAt(t, 1, 25)
	compareModels(t, dump(lt, "t1", t0.Unix(), t0.Unix()+7200), want)
	if got := testutil.ToFloat64(c.fetchErrors); got != 3 {
		t.Errorf("fetch errors = %v; want 3", got)
	}

	// A producer retry appends the last ten messages of partition 0 again:
	// dropped by the marks.
	src.mu.Lock()
	retry := slices.Clone(src.parts[0][40:50])
	src.mu.Unlock()
	for _, m := range retry {
		src.append(0, m.Value)
	}
	src.waitAt(t, 0, 60)
	compareModels(t, dump(lt, "t1", t0.Unix(), t0.Unix()+7200), want)

	// A restart resumes from the stored offsets: the stream's committed
	// offsets are not used.
	if err := services.StopAndAwaitTerminated(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := stopLongTerm(lt); err != nil {
		t.Fatal(err)
	}
	lt = openTestLongTerm(t, dir, clock, nil)
	add(1, "a", 5)
	startConsumer(t, lt, src, nil)
	src.waitAt(t, 0, 60)
	src.waitAt(t, 1, 30)
	compareModels(t, dump(lt, "t1", t0.Unix(), t0.Unix()+7200), want)
	if d := testutil.ToFloat64(lt.duplicates); d != 0 {
		t.Errorf("after the restart %v duplicates were read; want none (resumed at the stored offset)", d)
	}
}

// TestConsumerSkips: offsets the stream dropped before they were read, and
// an undecodable message, are recorded as stream gaps; a stored offset past
// the stream's end (a new stream) rereads it from the oldest offset.
func TestConsumerSkips(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	src := newFakeSource(1)
	want := model{}
	for i := range 10 {
		v, m := shipped("a", uint64(i), 0, i, 1)
		if i >= 4 {
			want.apply(&m, clock.now().Unix())
		}
		src.append(0, v)
	}
	src.append(0, []byte{0xff}) // offset 10: no envelope
	v, m := shipped("a", 11, 0, 11, 1)
	want.apply(&m, clock.now().Unix())
	src.append(0, v)
	src.dropBefore(0, 4) // retention removed 0..3 before the consumer started

	c := startConsumer(t, lt, src, nil)
	src.waitAt(t, 0, 12)
	compareModels(t, dump(lt, "t1", t0.Unix(), t0.Unix()+7200), want)
	gaps, err := lt.Gaps(0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	wantGaps := []GapRecord{
		{Stream: true, From: 0, To: 4, FirstMs: -1, LastMs: clock.now().UnixMilli()},
		{Stream: true, From: 10, To: 11, FirstMs: t0.Add(9 * time.Minute).UnixMilli(), LastMs: clock.now().UnixMilli()},
	}
	if !slices.Equal(gaps, wantGaps) {
		t.Errorf("gaps =\n%+v\nwant\n%+v", gaps, wantGaps)
	}
	if got := testutil.ToFloat64(c.skippedOffsets); got != 5 {
		t.Errorf("skipped offsets = %v; want 5", got)
	}

	// The stream is replaced by a new, shorter one: the consumer rereads it
	// from its start; what was applied before is dropped by the marks.
	if err := services.StopAndAwaitTerminated(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	src2 := newFakeSource(1)
	v, _ = shipped("a", 11, 0, 11, 1) // applied before
	src2.append(0, v)
	v, m = shipped("a", 12, 0, 12, 1)
	want.apply(&m, clock.now().Unix())
	src2.append(0, v)
	startConsumer(t, lt, src2, nil)
	src2.waitAt(t, 0, 2)
	compareModels(t, dump(lt, "t1", t0.Unix(), t0.Unix()+7200), want)
}
