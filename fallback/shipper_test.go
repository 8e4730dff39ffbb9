package fallback

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/backoff"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/record"
)

// memStream is an in-memory partitioned log whose appends can be made to
// fail, standing in for a stream that is down.
type memStream struct {
	mu    sync.Mutex
	parts [][][]byte
	down  bool
}

func newMemStream(n int) *memStream { return &memStream{parts: make([][][]byte, n)} }

func (m *memStream) Partitions() int { return len(m.parts) }

func (m *memStream) Append(_ context.Context, p int, recs [][]byte) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return 0, errors.New("stream is down")
	}
	first := int64(len(m.parts[p]))
	m.parts[p] = append(m.parts[p], recs...)
	return first, nil
}

func (m *memStream) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

// messages decodes everything in the stream.
func (m *memStream) messages(t *testing.T) [][]record.Shipped {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]record.Shipped, len(m.parts))
	for p, recs := range m.parts {
		for _, r := range recs {
			var s record.Shipped
			if err := record.DecodeShipped(r, &s); err != nil {
				t.Fatal(err)
			}
			out[p] = append(out[p], s)
		}
	}
	return out
}

func appendMetrics(t *testing.T, w *WAL, i int) uint64 {
	t.Helper()
	m := &record.Metrics{Tenant: "t", Namespace: "ns"}
	for j := range 10 {
		m.Datums = append(m.Datums, record.Datum{MetricName: fmt.Sprintf("m%d", j), Unit: "None", Timestamp: int64(i), Value: float64(i)})
	}
	off, err := w.Append(context.Background(), record.AppendMetrics(nil, m))
	if err != nil {
		t.Fatal(err)
	}
	return off
}

func startShipper(t *testing.T, w *WAL, st Stream, dir string, cap uint64, reg prometheus.Registerer) *Shipper {
	t.Helper()
	s, err := NewShipper(ShipperConfig{StateFile: filepath.Join(dir, "shipper.json"), MaxBacklogBytes: cap,
		Backoff: backoff.Config{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}}, w, st, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = services.StopAndAwaitTerminated(context.Background(), s) })
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// datumsByOrigin counts shipped datums per WAL offset, checking FIFO order per partition.
func datumsByOffset(t *testing.T, msgs [][]record.Shipped) map[uint64]int {
	got := map[uint64]int{}
	for p, part := range msgs {
		var last uint64
		for i, s := range part {
			if s.Kind != record.KindMetrics {
				continue
			}
			if i > 0 && s.Offset < last {
				t.Errorf("partition %d: offset %d after %d; want FIFO", p, s.Offset, last)
			}
			last = s.Offset
			var m record.Metrics
			if err := record.DecodeMetrics(s.Body, &m); err != nil {
				t.Fatal(err)
			}
			got[s.Offset] += len(m.Datums)
		}
	}
	return got
}

func TestShipperShipsEveryRecordSplitBySeries(t *testing.T) {
	dir := t.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	st := newMemStream(4)
	s := startShipper(t, w, st, dir, 0, nil)
	var offsets []uint64
	for i := range 200 {
		offsets = append(offsets, appendMetrics(t, w, i))
	}
	waitFor(t, "the backlog to drain", func() bool { return s.Backlog() == 0 })
	msgs := st.messages(t)
	got := datumsByOffset(t, msgs)
	for _, off := range offsets {
		if got[off] != 10 {
			t.Fatalf("WAL record at %d: %d datums in the stream; want 10", off, got[off])
		}
	}
	used := 0
	for _, part := range msgs {
		if len(part) > 0 {
			used++
		}
		for _, m := range part {
			if m.Origin != w.NodeID() {
				t.Fatalf("origin %q; want the WAL's node ID %q", m.Origin, w.NodeID())
			}
		}
	}
	if used < 2 {
		t.Errorf("10 series went to %d partitions; want them spread", used)
	}
}

func TestShipperWaitsOutAnOutageAndResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	st := newMemStream(2)
	st.setDown(true)
	s := startShipper(t, w, st, dir, 0, nil)
	for i := range 50 {
		appendMetrics(t, w, i)
	}
	if s.Backlog() == 0 {
		t.Fatal("backlog is empty while the stream is down")
	}
	st.setDown(false)
	waitFor(t, "the backlog to drain", func() bool { return s.Backlog() == 0 })
	if err := services.StopAndAwaitTerminated(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	before := len(datumsByOffset(t, st.messages(t)))

	// A new shipper on the same state resumes where the first stopped.
	last := appendMetrics(t, w, 99)
	s2 := startShipper(t, w, st, dir, 0, nil)
	waitFor(t, "the new record", func() bool { return s2.Backlog() == 0 })
	got := datumsByOffset(t, st.messages(t))
	if len(got) != before+1 || got[last] != 10 {
		t.Errorf("after restart: %d records shipped (was %d), new one has %d datums; want only the new record shipped", len(got), before, got[last])
	}
}

func TestShipperDropsOldestOverCapAndShipsAGap(t *testing.T) {
	dir := t.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal"), SegmentSize: 1 << 12}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	st := newMemStream(2)
	st.setDown(true)
	reg := prometheus.NewRegistry()
	s := startShipper(t, w, st, dir, 3<<12, reg)
	var offsets []uint64
	for i := range 300 {
		offsets = append(offsets, appendMetrics(t, w, i))
	}
	waitFor(t, "the cap to be enforced", func() bool { return s.Backlog() <= 3<<12+1<<12 })
	if testutil.ToFloat64(s.droppedBytes) == 0 {
		t.Fatal("nothing dropped over the cap")
	}
	st.setDown(false)
	waitFor(t, "the backlog to drain", func() bool { return s.Backlog() == 0 })
	dropped := testutil.ToFloat64(s.droppedBytes) // read once no more drops can come
	msgs := st.messages(t)
	var gap *record.Gap
	for _, part := range msgs {
		for _, m := range part {
			if m.Kind == record.KindGap {
				g, err := record.DecodeGap(m.Body)
				if err != nil {
					t.Fatal(err)
				}
				gap = &g
			}
		}
	}
	if gap == nil || gap.From != offsets[0] || gap.To <= gap.From || gap.To > offsets[len(offsets)-1] {
		t.Fatalf("gap marker: got %+v; want one from the first offset %d", gap, offsets[0])
	}
	got := datumsByOffset(t, msgs)
	for _, off := range offsets {
		shipped := got[off] > 0
		if shipped == (off < gap.To) {
			t.Fatalf("record at %d: shipped=%v, gap ends at %d; want every record below the gap dropped and every one above shipped", off, shipped, gap.To)
		}
	}
	if float64(gap.To-gap.From) != dropped {
		t.Errorf("dropped-bytes counter %v; want the gap's size %d", dropped, gap.To-gap.From)
	}
}

func TestShipperStartsOverOnAReplacedWAL(t *testing.T) {
	dir := t.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := newMemStream(2)
	s := startShipper(t, w, st, dir, 0, nil)
	for i := range 50 {
		appendMetrics(t, w, i)
	}
	waitFor(t, "shipping", func() bool { return s.Backlog() == 0 })
	_ = services.StopAndAwaitTerminated(context.Background(), s)
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}

	// The WAL is wiped; the shipper's state file stays.
	w2, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal2")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w2) }()
	off := appendMetrics(t, w2, 1)
	s2 := startShipper(t, w2, st, dir, 0, nil)
	waitFor(t, "the new WAL to ship", func() bool { return s2.Backlog() == 0 })
	var found bool
	for _, part := range st.messages(t) {
		for _, m := range part {
			found = found || (m.Origin == w2.NodeID() && m.Offset == off)
		}
	}
	if !found {
		t.Errorf("the new WAL's record at %d was not shipped under its node ID", off)
	}
}
