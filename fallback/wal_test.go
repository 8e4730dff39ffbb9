package fallback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// testRecord returns a record whose content and size (20..56 bytes) depend on i.
func testRecord(i int) []byte {
	return []byte(fmt.Sprintf("record-%08d-%s", i, strings.Repeat("x", i%37)))
}

func openTestWAL(t testing.TB, cfg WALConfig) *WAL {
	t.Helper()
	w, err := startWAL(cfg, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatalf("OpenWAL: %v", err)
	}
	t.Cleanup(func() { _ = stopWAL(w) })
	return w
}

type entry struct {
	off uint64
	rec []byte
}

func replayAll(t testing.TB, w *WAL, from uint64) []entry {
	t.Helper()
	var got []entry
	err := w.Replay(context.Background(), from, func(off uint64, rec []byte) error {
		got = append(got, entry{off, rec})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return got
}

func appendN(t testing.TB, w *WAL, first, n int) []entry {
	t.Helper()
	var out []entry
	for i := first; i < first+n; i++ {
		rec := testRecord(i)
		off, err := w.Append(context.Background(), rec)
		if err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
		out = append(out, entry{off, rec})
	}
	return out
}

func checkEntries(t testing.TB, got, want []entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].off != want[i].off || !bytes.Equal(got[i].rec, want[i].rec) {
			t.Fatalf("record %d: got (%d, %q); want (%d, %q)", i, got[i].off, got[i].rec, want[i].off, want[i].rec)
		}
	}
}

func TestWALAppendReplayAcrossRotations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{
		{"fsync", 0},
		{"interval", time.Hour}, // only Sync and rotation fsync
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := WALConfig{Dir: dir, SegmentSize: 300, SyncInterval: tc.interval}
			w := openTestWAL(t, cfg)
			id := w.NodeID()
			if len(id) != 32 {
				t.Fatalf("got node id %q; want 32 hex digits", id)
			}
			want := appendN(t, w, 0, 200)
			for i := 1; i < len(want); i++ {
				prev := want[i-1]
				if got, exp := want[i].off, prev.off+seglog.FrameHeaderSize+uint64(len(prev.rec)); got != exp {
					t.Fatalf("offset of record %d: got %d; want %d", i, got, exp)
				}
			}
			if err := w.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			segs := w.Segments()
			if len(segs) < 10 {
				t.Fatalf("got %d segments; want at least 10", len(segs))
			}
			for i, s := range segs {
				if s.Size > cfg.SegmentSize || s.End != s.Base+uint64(s.Size) {
					t.Fatalf("segment %d: got %+v; want size <= %d and End = Base+Size", i, s, cfg.SegmentSize)
				}
				if i > 0 && s.Base != segs[i-1].End {
					t.Fatalf("segment %d: got base %d; want %d", i, s.Base, segs[i-1].End)
				}
			}
			if got := testutil.ToFloat64(w.logCfg.Metrics.Segments); got != float64(len(segs)) {
				t.Fatalf("segments gauge: got %v; want %d", got, len(segs))
			}
			if got := testutil.ToFloat64(w.logCfg.Metrics.Appends); got != 200 {
				t.Fatalf("appends_total: got %v; want 200", got)
			}
			checkEntries(t, replayAll(t, w, 0), want)
			checkEntries(t, replayAll(t, w, want[150].off), want[150:])
			// A position inside a frame starts at the next frame.
			checkEntries(t, replayAll(t, w, want[150].off+1), want[151:])

			end := w.EndOffset()
			if err := stopWAL(w); err != nil {
				t.Fatalf("Close: %v", err)
			}
			w = openTestWAL(t, cfg)
			if w.NodeID() != id {
				t.Fatalf("node id after reopen: got %q; want %q", w.NodeID(), id)
			}
			if got := w.EndOffset(); got != end {
				t.Fatalf("EndOffset after reopen: got %d; want %d", got, end)
			}
			more := appendN(t, w, 200, 50)
			if more[0].off != end {
				t.Fatalf("first offset after reopen: got %d; want %d", more[0].off, end)
			}
			if err := w.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			checkEntries(t, replayAll(t, w, 0), append(want, more...))
		})
	}
}

// TestWALRepairKeepsIdentityAndCounts checks the WAL's part of a repair
// (seglog's tests cover the scenarios): a torn tail is cut at restart under
// the same node ID, and cellwatch_wal_corruptions_total counts it.
func TestWALRepairKeepsIdentityAndCounts(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir}
	w := openTestWAL(t, cfg)
	want := appendN(t, w, 0, 10)
	id := w.NodeID()
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}
	path := seglog.SegmentPath(dir, segmentSuffix, 0)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	w, err = startWAL(cfg, reg, nil)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { _ = stopWAL(w) })
	checkEntries(t, replayAll(t, w, 0), want[:9])
	if w.NodeID() != id {
		t.Errorf("node ID after repair: %s; want %s", w.NodeID(), id)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cellwatch_wal_corruptions_total Corrupt WAL frames found: torn tails repaired at open and bad frames met by readers.
# TYPE cellwatch_wal_corruptions_total counter
cellwatch_wal_corruptions_total 1
`), "cellwatch_wal_corruptions_total"); err != nil {
		t.Error(err)
	}
}

func TestWALConcurrentAppends(t *testing.T) {
	const writers, perWriter = 64, 100
	dir := t.TempDir()
	w := openTestWAL(t, WALConfig{Dir: dir, SegmentSize: 64 << 10})

	type result struct {
		off uint64
		rec []byte
	}
	results := make([][]result, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				rec := []byte(fmt.Sprintf("g%02d-i%04d-%s", g, i, strings.Repeat("y", (g*i)%50)))
				off, err := w.Append(context.Background(), rec)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				results[g] = append(results[g], result{off, rec})
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	byOffset := make(map[uint64][]byte, writers*perWriter)
	for _, rs := range results {
		for _, r := range rs {
			if _, dup := byOffset[r.off]; dup {
				t.Fatalf("offset %d given twice", r.off)
			}
			byOffset[r.off] = r.rec
		}
	}
	got := replayAll(t, w, 0)
	if len(got) != writers*perWriter {
		t.Fatalf("replayed %d records; want %d", len(got), writers*perWriter)
	}
	for _, e := range got {
		if !bytes.Equal(byOffset[e.off], e.rec) {
			t.Fatalf("record at %d: got %q; want %q", e.off, e.rec, byOffset[e.off])
		}
	}
	appends, fsyncs := testutil.ToFloat64(w.logCfg.Metrics.Appends), testutil.ToFloat64(w.logCfg.Metrics.Fsyncs)
	if appends != writers*perWriter || fsyncs >= appends {
		t.Fatalf("got %v appends and %v fsyncs; want %d appends and fewer fsyncs (group commit)", appends, fsyncs, writers*perWriter)
	}
	t.Logf("%v appends, %v fsyncs, %d segments", appends, fsyncs, len(w.Segments()))
}

func TestWALRecordLimits(t *testing.T) {
	w := openTestWAL(t, WALConfig{Dir: t.TempDir(), SegmentSize: 1 << 10})
	ctx := context.Background()
	if _, err := w.Append(ctx, nil); !errors.Is(err, ErrEmptyRecord) {
		t.Fatalf("empty record: got %v; want ErrEmptyRecord", err)
	}
	if _, err := w.Append(ctx, make([]byte, MaxRecordSize+1)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("oversized record: got %v; want ErrRecordTooLarge", err)
	}
	small := appendN(t, w, 0, 3)
	big := bytes.Repeat([]byte("big"), 100_000) // larger than a segment and the read buffer
	off, err := w.Append(ctx, big)
	if err != nil {
		t.Fatalf("Append big: %v", err)
	}
	after := appendN(t, w, 3, 3)
	segs := w.Segments()
	if len(segs) != 3 || segs[1].Base != off || segs[1].Size != int64(seglog.FrameHeaderSize+len(big)) {
		t.Fatalf("got segments %+v; want the big record alone in the second one at %d", segs, off)
	}
	want := append(append(small, entry{off, big}), after...)
	checkEntries(t, replayAll(t, w, 0), want)
}

func TestWALNodeID(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir}
	w := openTestWAL(t, cfg)
	id := w.NodeID()
	appendN(t, w, 0, 3)
	if _, err := startWAL(cfg, nil, nil); err == nil {
		t.Fatalf("second OpenWAL on a locked dir: got nil error; want an error")
	}
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "NODE_ID"))
	if err != nil || strings.TrimSpace(string(b)) != id {
		t.Fatalf("NODE_ID file: got %q, %v; want %q", b, err, id)
	}

	// Segments lost but NODE_ID kept: offsets restart, so the identity must change.
	if err := os.Remove(seglog.SegmentPath(dir, segmentSuffix, 0)); err != nil {
		t.Fatal(err)
	}
	w = openTestWAL(t, cfg)
	if w.NodeID() == id || w.EndOffset() != 0 {
		t.Fatalf("after losing segments: got node id %q end %d; want a new id and end 0", w.NodeID(), w.EndOffset())
	}
}

func TestWALConfigErrors(t *testing.T) {
	for _, cfg := range []WALConfig{
		{},
		{Dir: t.TempDir(), SegmentSize: -1},
		{Dir: t.TempDir(), SyncInterval: -time.Second},
		{Dir: t.TempDir(), MaxPendingBytes: -1},
	} {
		if _, err := startWAL(cfg, nil, nil); err == nil {
			t.Errorf("startWAL(%+v): got nil error; want an error", cfg)
		}
	}
}
