package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/dirlock"
)

func openTest(t testing.TB, cfg EmbeddedConfig) *Embedded {
	t.Helper()
	e, err := startEmbedded(cfg, prometheus.NewRegistry(), time.Now)
	if err != nil {
		t.Fatalf("start stream: %v", err)
	}
	t.Cleanup(func() { _ = stopEmbedded(e) })
	return e
}

// testBatch returns n records whose content names (tag, i, record) and whose
// sizes (10..110 bytes) vary.
func testBatch(tag string, i, n int) [][]byte {
	recs := make([][]byte, n)
	for r := range recs {
		recs[r] = fmt.Appendf(nil, "%s-b%05d-r%03d-%s", tag, i, r, strings.Repeat("v", (i*7+r*13)%90))
	}
	return recs
}

// fetchAll reads p from `from` to its end offset, maxBytes at a time.
func fetchAll(t testing.TB, e Log, p int, from int64, maxBytes int) []Message {
	t.Helper()
	ctx := context.Background()
	_, end, err := e.Bounds(ctx, p)
	if err != nil {
		t.Fatalf("Bounds: %v", err)
	}
	var out []Message
	for off := from; off < end; {
		msgs, err := e.Fetch(ctx, p, off, maxBytes)
		if err != nil {
			t.Fatalf("Fetch(%d, %d): %v", p, off, err)
		}
		if len(msgs) == 0 || msgs[0].Offset != off {
			t.Fatalf("Fetch(%d, %d): got %d messages starting at %v; want some starting at %d", p, off, len(msgs), msgs, off)
		}
		out = append(out, msgs...)
		off = msgs[len(msgs)-1].Offset + 1
	}
	return out
}

func checkMessages(t testing.TB, got []Message, want [][]byte, first int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages; want %d", len(got), len(want))
	}
	for i, m := range got {
		if m.Offset != first+int64(i) || !bytes.Equal(m.Value, want[i]) {
			t.Fatalf("message %d: got (%d, %q); want (%d, %q)", i, m.Offset, m.Value, first+int64(i), want[i])
		}
	}
}

func TestEmbeddedRoundTripAcrossRotationsAndReopen(t *testing.T) {
	for _, tc := range []struct {
		name     string
		segment  int64
		interval time.Duration
		batches  int
		maxBytes int
	}{
		{"small segments fsync", 1 << 10, 0, 60, 1},
		{"small segments interval", 1 << 10, 2 * time.Millisecond, 60, 500},
		{"indexed segments", 256 << 10, 0, 600, 64 << 10}, // ~1 MiB a partition: index entries every 64 KiB
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 3, SegmentSize: tc.segment, SyncInterval: tc.interval}
			e := openTest(t, cfg)
			if e.Partitions() != 3 {
				t.Fatalf("Partitions: got %d; want 3", e.Partitions())
			}
			var want [3][][]byte
			for i := range tc.batches {
				p := i % 3
				n := 1 + i%9
				if tc.batches > 100 {
					n = 10
				}
				recs := testBatch(fmt.Sprint("p", p), i, n)
				if tc.batches > 100 {
					for r := range recs {
						recs[r] = append(recs[r], bytes.Repeat([]byte{'x'}, 400)...)
					}
				}
				first, err := e.Append(ctx, p, recs)
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if first != int64(len(want[p])) {
					t.Fatalf("Append to %d: got first offset %d; want %d", p, first, len(want[p]))
				}
				want[p] = append(want[p], recs...)
			}
			if segs := e.parts[0].log.Segments(); len(segs) < 3 {
				t.Fatalf("got %d segments; want several", len(segs))
			}
			check := func(e *Embedded) {
				t.Helper()
				for p := range 3 {
					checkMessages(t, fetchAll(t, e, p, 0, tc.maxBytes), want[p], 0)
					// From inside batches and segments, including the last record.
					for _, from := range []int{1, 5, len(want[p]) / 3, len(want[p]) / 2, len(want[p]) - 1} {
						checkMessages(t, fetchAll(t, e, p, int64(from), tc.maxBytes), want[p][from:], int64(from))
					}
				}
			}
			check(e)
			if err := stopEmbedded(e); err != nil {
				t.Fatalf("Close: %v", err)
			}

			e = openTest(t, cfg)
			check(e)
			for p := range 3 {
				oldest, end, err := e.Bounds(ctx, p)
				if err != nil || oldest != 0 || end != int64(len(want[p])) {
					t.Fatalf("Bounds(%d) after reopen: got %d, %d, %v; want 0, %d", p, oldest, end, err, len(want[p]))
				}
				recs := testBatch("more", p, 4)
				first, err := e.Append(ctx, p, recs)
				if err != nil || first != end {
					t.Fatalf("Append after reopen: got %d, %v; want %d", first, err, end)
				}
				want[p] = append(want[p], recs...)
			}
			check(e)
		})
	}
}

func TestEmbeddedFetchMaxBytes(t *testing.T) {
	e := openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: 1})
	ctx := context.Background()
	recs := [][]byte{[]byte("aaaa"), []byte("bbbb"), {}, []byte("cccccccc"), []byte("dd")}
	if _, err := e.Append(ctx, 0, recs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from     int64
		maxBytes int
		want     int // messages
	}{
		{0, 0, 1},   // at least one
		{0, 4, 1},   // exactly the first
		{0, 8, 3},   // the empty record fits
		{0, 15, 3},  // the 8-byte one does not
		{0, 100, 5}, // all
		{3, 1, 1},   // an oversized first record still comes
		{2, 9, 2},   // from inside the batch
	} {
		msgs, err := e.Fetch(ctx, 0, tc.from, tc.maxBytes)
		if err != nil {
			t.Fatalf("Fetch(%d, %d): %v", tc.from, tc.maxBytes, err)
		}
		checkMessages(t, msgs, recs[tc.from:tc.from+int64(tc.want)], tc.from)
	}
}

func TestEmbeddedConcurrentAppends(t *testing.T) {
	const goroutines, batches, partitions = 16, 40, 3
	e := openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: partitions, SegmentSize: 8 << 10})
	type result struct {
		p     int
		first int64
		recs  [][]byte
	}
	results := make([][]result, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range batches {
				p := (g + i) % partitions
				recs := testBatch(fmt.Sprint("g", g), i, 1+(g+i)%6)
				first, err := e.Append(context.Background(), p, recs)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				results[g] = append(results[g], result{p, first, recs})
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Per partition, the batches tile the offsets from 0 without gap or
	// overlap, and each batch's records are contiguous.
	var want [partitions][][]byte
	var all [partitions][]result
	for _, rs := range results {
		for _, r := range rs {
			all[r.p] = append(all[r.p], r)
		}
	}
	for p := range partitions {
		slices.SortFunc(all[p], func(a, b result) int { return int(a.first - b.first) })
		for _, r := range all[p] {
			if r.first != int64(len(want[p])) {
				t.Fatalf("partition %d: batch at %d; want the next at %d (dense offsets)", p, r.first, len(want[p]))
			}
			want[p] = append(want[p], r.recs...)
		}
		checkMessages(t, fetchAll(t, e, p, 0, 1<<20), want[p], 0)
		if got := testutil.ToFloat64(e.m.appendedRecords.WithLabelValues(fmt.Sprint(p))); got != float64(len(want[p])) {
			t.Fatalf("appended_records_total{partition=%d}: got %v; want %d", p, got, len(want[p]))
		}
		if got := testutil.ToFloat64(e.m.endOffset.WithLabelValues(fmt.Sprint(p))); got != float64(len(want[p])) {
			t.Fatalf("end_offset{partition=%d}: got %v; want %d", p, got, len(want[p]))
		}
	}
}

func TestEmbeddedFetchWaits(t *testing.T) {
	e := openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: 2})
	ctx := context.Background()
	if _, err := e.Append(ctx, 1, testBatch("x", 0, 3)); err != nil {
		t.Fatal(err)
	}

	// At the end: Fetch waits for the next append, and gets exactly it.
	type got struct {
		msgs []Message
		err  error
	}
	ch := make(chan got, 1)
	go func() {
		msgs, err := e.Fetch(ctx, 1, 3, 1<<20)
		ch <- got{msgs, err}
	}()
	recs := testBatch("y", 1, 2)
	if _, err := e.Append(ctx, 0, testBatch("other partition", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Append(ctx, 1, recs); err != nil {
		t.Fatal(err)
	}
	g := <-ch
	if g.err != nil {
		t.Fatalf("waiting Fetch: %v", g.err)
	}
	checkMessages(t, g.msgs, recs, 3)

	// A waiting Fetch ends with its context.
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		msgs, err := e.Fetch(cctx, 1, 5, 1<<20)
		ch <- got{msgs, err}
	}()
	cancel()
	if g := <-ch; !errors.Is(g.err, context.Canceled) {
		t.Fatalf("Fetch after cancel: got %v, %v; want context.Canceled", g.msgs, g.err)
	}
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer dcancel()
	if msgs, err := e.Fetch(dctx, 1, 5, 1<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch past its deadline: got %v, %v; want context.DeadlineExceeded", msgs, err)
	}

	// And with Close.
	go func() {
		msgs, err := e.Fetch(ctx, 1, 5, 1<<20)
		ch <- got{msgs, err}
	}()
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	if g := <-ch; !errors.Is(g.err, ErrClosed) {
		t.Fatalf("waiting Fetch at Close: got %v, %v; want ErrClosed", g.msgs, g.err)
	}
}

func TestEmbeddedOffsetOutOfRange(t *testing.T) {
	e := openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: 1, SegmentSize: 1 << 10, RetentionBytes: 2 << 10})
	ctx := context.Background()
	for i := range 20 {
		if _, err := e.Append(ctx, 0, testBatch("r", i, 5)); err != nil {
			t.Fatal(err)
		}
	}
	for _, off := range []int64{-1, 101, 1 << 40} {
		if msgs, err := e.Fetch(ctx, 0, off, 100); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("Fetch(%d) of a 100-record partition: got %v, %v; want ErrOffsetOutOfRange", off, msgs, err)
		}
	}
	r := e.parts[0].log.NewReaderAt(0) // a reader in the first segment when retention deletes it
	defer r.Close()
	if _, _, err := r.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.EnforceRetention(); err != nil {
		t.Fatalf("EnforceRetention: %v", err)
	}
	oldest, end, err := e.Bounds(ctx, 0)
	if err != nil || oldest == 0 || end != 100 {
		t.Fatalf("Bounds after retention: got %d, %d, %v; want oldest > 0, end 100", oldest, end, err)
	}
	for _, off := range []int64{0, oldest - 1} {
		if msgs, err := e.Fetch(ctx, 0, off, 100); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("Fetch(%d) below the oldest %d: got %v, %v; want ErrOffsetOutOfRange", off, oldest, msgs, err)
		}
	}
	if _, _, err := r.Next(ctx); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read of a deleted segment: got %v; want ErrOffsetOutOfRange", err)
	}
	msgs, err := e.Fetch(ctx, 0, oldest, 1)
	if err != nil || len(msgs) != 1 || msgs[0].Offset != oldest {
		t.Fatalf("Fetch(oldest %d): got %v, %v; want its record", oldest, msgs, err)
	}
	if _, err := e.Fetch(ctx, 1, 0, 1); err == nil || errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Fetch of partition 1 of 1: got %v; want a partition error", err)
	}
}

func TestEmbeddedPartitionCount(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, EmbeddedConfig{Dir: dir, Partitions: 4})
	if _, err := startEmbedded(EmbeddedConfig{Dir: dir, Partitions: 4}, nil, time.Now); !errors.Is(err, dirlock.ErrHeld) {
		t.Fatalf("second open of a locked stream: got %v; want dirlock.ErrHeld", err)
	}
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	_, err := startEmbedded(EmbeddedConfig{Dir: dir, Partitions: 8}, nil, time.Now)
	if err == nil || !strings.Contains(err.Error(), "has 4 partitions") || !strings.Contains(err.Error(), "asks for 8") ||
		!strings.Contains(err.Error(), "cannot change") {
		t.Fatalf("reopen with 8 partitions: got %v; want an error naming 4 and 8 and saying the count cannot change", err)
	}
	e = openTest(t, EmbeddedConfig{Dir: dir}) // 0: the stored count
	if e.Partitions() != 4 {
		t.Fatalf("reopen with Partitions 0: got %d partitions; want the stored 4", e.Partitions())
	}
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, metaFileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := startEmbedded(EmbeddedConfig{Dir: dir, Partitions: 4}, nil, time.Now); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("open without stream.json beside partitions: got %v; want an error", err)
	}

	e = openTest(t, EmbeddedConfig{Dir: t.TempDir()})
	if e.Partitions() != DefaultPartitions {
		t.Fatalf("new stream: got %d partitions; want %d", e.Partitions(), DefaultPartitions)
	}
}

func TestEmbeddedClosed(t *testing.T) {
	e := openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: 1})
	ctx := context.Background()
	if _, err := e.Append(ctx, 0, testBatch("x", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	if err := stopEmbedded(e); err != nil {
		t.Fatalf("second Close: got %v; want nil", err)
	}
	if _, err := e.Append(ctx, 0, testBatch("x", 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append: got %v; want ErrClosed", err)
	}
	if _, err := e.Fetch(ctx, 0, 0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Fetch: got %v; want ErrClosed", err)
	}
	if _, _, err := e.Bounds(ctx, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Bounds: got %v; want ErrClosed", err)
	}
	if err := e.Commit(ctx, "g", 0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit: got %v; want ErrClosed", err)
	}
	if _, err := e.Committed(ctx, "g", 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Committed: got %v; want ErrClosed", err)
	}
	if err := e.EnforceRetention(); !errors.Is(err, ErrClosed) {
		t.Fatalf("EnforceRetention: got %v; want ErrClosed", err)
	}
}

// TestEmbeddedCloseWhileAppending checks that every Append racing with Close
// either succeeds (and its records are kept) or returns ErrClosed.
func TestEmbeddedCloseWhileAppending(t *testing.T) {
	cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 2}
	e := openTest(t, cfg)
	var (
		mu    sync.Mutex
		acked [2]int
		wg    sync.WaitGroup
		ready = make(chan struct{}, 8)
	)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := e.Append(context.Background(), g%2, testBatch("c", i, 3))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				acked[g%2] += 3
				mu.Unlock()
				if i == 0 {
					ready <- struct{}{}
				}
			}
		})
	}
	for range 8 {
		<-ready
	}
	if err := stopEmbedded(e); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	e = openTest(t, cfg)
	for p := range 2 {
		if _, end, _ := e.Bounds(context.Background(), p); end != int64(acked[p]) {
			t.Fatalf("partition %d: end %d after reopen; want the %d acknowledged records", p, end, acked[p])
		}
	}
}

func TestEmbeddedAppendErrors(t *testing.T) {
	e := openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: 1})
	ctx := context.Background()
	if _, err := e.Append(ctx, 0, nil); err == nil {
		t.Fatal("Append of no records: got nil error")
	}
	if _, err := e.Append(ctx, 2, testBatch("x", 0, 1)); err == nil {
		t.Fatal("Append to partition 2 of 1: got nil error")
	}
	if _, err := e.Append(ctx, 0, [][]byte{make([]byte, 17<<20)}); err == nil {
		t.Fatal("Append of 17 MiB: got nil error")
	}
	// Empty records are records.
	if first, err := e.Append(ctx, 0, [][]byte{{}, {}}); err != nil || first != 0 {
		t.Fatalf("Append of empty records: got %d, %v", first, err)
	}
	checkMessages(t, fetchAll(t, e, 0, 0, 10), [][]byte{{}, {}}, 0)
}

// startEmbedded builds a stream with the clock now and runs it, as a node
// does.
func startEmbedded(cfg EmbeddedConfig, reg prometheus.Registerer, now func() time.Time) (*Embedded, error) {
	e, err := newEmbedded(cfg, reg, nil, now)
	if err != nil {
		return nil, err
	}
	if err := services.StartAndAwaitRunning(context.Background(), e); err != nil {
		return nil, err
	}
	return e, nil
}

// stopEmbedded stops e; stopping a stopped stream does nothing.
func stopEmbedded(e *Embedded) error {
	return services.StopAndAwaitTerminated(context.Background(), e)
}
