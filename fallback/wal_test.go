package fallback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

func TestWALTornTail(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, path string, size int64)
		keep    int // records of the last segment that survive
	}{
		{"payload cut", func(t *testing.T, path string, size int64) { truncateFile(t, path, size-3) }, 9},
		{"header cut", func(t *testing.T, path string, size int64) {
			truncateFile(t, path, size-int64(len(testRecord(9)))-4)
		}, 9},
		{"payload byte flipped", func(t *testing.T, path string, size int64) { flipByte(t, path, size-1) }, 9},
		{"length made huge", func(t *testing.T, path string, size int64) {
			flipByte(t, path, size-int64(len(testRecord(9)))-seglog.FrameHeaderSize+3)
		}, 9},
		{"zero-filled tail", func(t *testing.T, path string, size int64) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(make([]byte, 4096)); err != nil {
				t.Fatal(err)
			}
		}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := WALConfig{Dir: dir, SegmentSize: 1 << 20}
			w := openTestWAL(t, cfg)
			want := appendN(t, w, 0, 10)
			if err := stopWAL(w); err != nil {
				t.Fatal(err)
			}
			path := seglog.SegmentPath(dir, segmentSuffix, 0)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.corrupt(t, path, fi.Size())

			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			w, err = startWAL(cfg, reg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer stopWAL(w)
			want = want[:tc.keep]
			checkEntries(t, replayAll(t, w, 0), want)
			last := want[len(want)-1]
			wantEnd := last.off + seglog.FrameHeaderSize + uint64(len(last.rec))
			if got := w.EndOffset(); got != wantEnd {
				t.Fatalf("EndOffset: got %d; want %d", got, wantEnd)
			}
			if fi, _ := os.Stat(path); uint64(fi.Size()) != wantEnd {
				t.Fatalf("segment size: got %d; want %d", fi.Size(), wantEnd)
			}
			if !strings.Contains(logs.String(), "dropped_bytes=") {
				t.Fatalf("got log %q; want a line with dropped_bytes", logs.String())
			}
			if got := testutil.ToFloat64(w.logCfg.Metrics.Corruptions); got != 1 {
				t.Fatalf("corruptions_total: got %v; want 1", got)
			}
			more := appendN(t, w, 100, 5)
			if more[0].off != wantEnd {
				t.Fatalf("offset of first new record: got %d; want %d", more[0].off, wantEnd)
			}
			checkEntries(t, replayAll(t, w, 0), append(want, more...))
		})
	}
}

func truncateFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func TestWALCorruptClosedSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir, SegmentSize: 300}
	w := openTestWAL(t, cfg)
	want := appendN(t, w, 0, 60)
	segs := w.Segments()
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}
	// Flip the last byte of the second frame of segment 1.
	var inSeg1 []entry
	for _, e := range want {
		if e.off >= segs[1].Base && e.off < segs[1].End {
			inSeg1 = append(inSeg1, e)
		}
	}
	bad := inSeg1[1]
	flipByte(t, seglog.SegmentPath(dir, segmentSuffix, segs[1].Base), int64(bad.off-segs[1].Base)+seglog.FrameHeaderSize+int64(len(bad.rec))-1)

	var logs bytes.Buffer
	w, err := startWAL(cfg, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer stopWAL(w)

	var expect []entry
	for _, e := range want {
		if e.off < bad.off || e.off >= segs[1].End {
			expect = append(expect, e)
		}
	}
	checkEntries(t, replayAll(t, w, 0), expect)
	if !strings.Contains(logs.String(), "corrupt") {
		t.Fatalf("got log %q; want a corruption warning", logs.String())
	}

	r := w.NewReader(0)
	defer r.Close()
	var got []entry
	var cerr *CorruptionError
	for len(got) < len(expect) {
		off, rec, err := r.Next(context.Background())
		if errors.As(err, &cerr) {
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, entry{off, rec})
	}
	checkEntries(t, got, expect)
	if cerr == nil || cerr.Segment != segs[1].Base || cerr.Offset != bad.off || !errors.Is(cerr, seglog.ErrChecksum) {
		t.Fatalf("got corruption error %v; want segment %d offset %d checksum mismatch", cerr, segs[1].Base, bad.off)
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
