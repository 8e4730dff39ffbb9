package seglog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The byte-offset mode's appends, readers and faults are exercised by
// fallback's WAL tests; these cover counted offsets, the offset index and the
// helpers. Corruption and repair, in both modes, are in repair_test.go.

func openTestLog(t testing.TB, cfg Config) *Log {
	t.Helper()
	l, err := Open(cfg, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// countedPayload returns a payload holding n records, the first byte of
// each naming i.
func countedPayload(i, n, size int) []byte {
	p := binary.LittleEndian.AppendUint32(nil, uint32(n))
	for r := range n {
		p = append(p, bytes.Repeat([]byte{byte(i + r)}, size)...)
	}
	return p
}

type frame struct {
	off uint64
	n   int
	rec []byte
}

func appendCounted(t testing.TB, l *Log, from, count, size int) []frame {
	t.Helper()
	var out []frame
	for i := from; i < from+count; i++ {
		n := 1 + i%5
		rec := countedPayload(i, n, size)
		off, err := l.Append(context.Background(), rec)
		if err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
		out = append(out, frame{off, n, rec})
	}
	return out
}

func TestCountedOffsetsAndReaderAt(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Counted: true, SegmentSize: 150 << 10}
	l := openTestLog(t, cfg)
	frames := appendCounted(t, l, 0, 800, 300) // ~700 KiB: several segments, index entries in each
	var end uint64
	for i, f := range frames {
		if f.off != end {
			t.Fatalf("frame %d: offset %d; want %d (the records before it)", i, f.off, end)
		}
		end += uint64(f.n)
	}
	if l.EndOffset() != end {
		t.Fatalf("EndOffset: got %d; want %d", l.EndOffset(), end)
	}
	segs := l.Segments()
	if len(segs) < 3 {
		t.Fatalf("got %d segments; want several", len(segs))
	}
	for i := 1; i < len(segs); i++ {
		if segs[i].Base != segs[i-1].End {
			t.Fatalf("segment %d starts at %d; want %d", i, segs[i].Base, segs[i-1].End)
		}
	}

	// holding finds the frame of every record; NewReader the next frame.
	check := func(l *Log) {
		t.Helper()
		for _, f := range frames {
			for _, at := range []uint64{f.off, f.off + uint64(f.n) - 1} {
				r := l.NewReaderAt(at)
				off, rec, err := r.Next(context.Background())
				r.Close()
				if err != nil || off != f.off || !bytes.Equal(rec, f.rec) {
					t.Fatalf("NewReaderAt(%d): got %d, %d bytes, %v; want the frame at %d", at, off, len(rec), err, f.off)
				}
			}
		}
		r := l.NewReader(frames[10].off + 1)
		defer r.Close()
		if off, _, err := r.Next(context.Background()); err != nil || off != frames[11].off {
			t.Fatalf("NewReader inside frame 10: got %d, %v; want frame 11 at %d", off, err, frames[11].off)
		}
	}
	check(l)
	l.stateMu.RLock()
	entries := len(l.segs[0].idx)
	l.stateMu.RUnlock()
	if entries < 2 {
		t.Fatalf("first segment has %d index entries; want some", entries)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// After reopen the closed segments are indexed on first use.
	l = openTestLog(t, cfg)
	l.stateMu.RLock()
	indexed := l.segs[0].indexed
	l.stateMu.RUnlock()
	if indexed {
		t.Fatal("closed segment indexed at open; want it left for the first reader")
	}
	check(l)
	l.stateMu.RLock()
	after := len(l.segs[0].idx)
	l.stateMu.RUnlock()
	if after != entries {
		t.Fatalf("index rebuilt with %d entries; want the writer's %d", after, entries)
	}
	if off, err := l.Append(context.Background(), countedPayload(0, 2, 10)); err != nil || off != end {
		t.Fatalf("Append after reopen: got %d, %v; want %d", off, err, end)
	}
}

func TestCountedPayloadChecked(t *testing.T) {
	l := openTestLog(t, Config{Dir: t.TempDir(), Counted: true})
	for _, rec := range [][]byte{{1, 0, 0}, {0, 0, 0, 0, 'x'}} {
		if _, err := l.Append(context.Background(), rec); !errors.Is(err, ErrBadCount) {
			t.Fatalf("Append(%v): got %v; want ErrBadCount", rec, err)
		}
	}
}

// faultyFile fails writes (after writing half) while fail is set.
type faultyFile struct {
	*os.File
	mu   *sync.Mutex
	fail *bool
}

func (f faultyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	fail := *f.fail
	f.mu.Unlock()
	if fail {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

// TestCountedWriteErrorLeavesNoHole: a rolled-back write gives its offsets
// to the next frame, so offsets stay dense.
func TestCountedWriteErrorLeavesNoHole(t *testing.T) {
	var (
		mu   sync.Mutex
		fail bool
	)
	dir := t.TempDir()
	cfg := Config{Dir: dir, Counted: true, WrapFile: func(f *os.File) File { return faultyFile{f, &mu, &fail} }}
	l := openTestLog(t, cfg)
	want := appendCounted(t, l, 0, 3, 10)
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := l.Append(context.Background(), countedPayload(9, 4, 10)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: got %v; want ENOSPC", err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	more := appendCounted(t, l, 3, 2, 10)
	if last := want[2]; more[0].off != last.off+uint64(last.n) {
		t.Fatalf("offset after a rolled-back write: got %d; want %d", more[0].off, last.off+uint64(last.n))
	}
	var got []frame
	if err := l.Replay(context.Background(), 0, func(off uint64, rec []byte) error {
		got = append(got, frame{off: off, rec: rec})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want = append(want, more...)
	if len(got) != len(want) {
		t.Fatalf("replayed %d frames; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].off != want[i].off || !bytes.Equal(got[i].rec, want[i].rec) {
			t.Fatalf("frame %d: got offset %d; want %d", i, got[i].off, want[i].off)
		}
	}
}

func TestCountedTailReaderAcrossRotation(t *testing.T) {
	for _, interval := range []time.Duration{0, 2 * time.Millisecond} {
		t.Run(fmt.Sprint(interval), func(t *testing.T) {
			l := openTestLog(t, Config{Dir: t.TempDir(), Counted: true, SegmentSize: 1 << 10, SyncInterval: interval})
			r := l.NewReaderAt(0)
			defer r.Close()
			const n = 60
			errc := make(chan error, 1)
			got := make(chan frame, n)
			go func() {
				for range n {
					off, rec, err := r.Next(context.Background())
					if err != nil {
						errc <- err
						return
					}
					got <- frame{off: off, rec: rec}
				}
				errc <- nil
			}()
			want := appendCounted(t, l, 0, n, 40)
			if err := <-errc; err != nil {
				t.Fatalf("Next: %v", err)
			}
			for i := range n {
				if g := <-got; g.off != want[i].off || !bytes.Equal(g.rec, want[i].rec) {
					t.Fatalf("frame %d: got offset %d; want %d", i, g.off, want[i].off)
				}
			}
			if len(l.Segments()) < 5 {
				t.Fatal("the reader crossed no rotation")
			}
			if ok := r.Offset() == l.EndOffset(); !ok {
				t.Fatalf("reader offset %d; want the end %d", r.Offset(), l.EndOffset())
			}
			if _, _, ok, err := r.TryNext(context.Background()); ok || err != nil {
				t.Fatalf("TryNext at the end: got ok %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"old", "new, longer content"} {
		if err := WriteFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Fatalf("read back %q, %v; want %q", b, err, content)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temp file left: %v", err)
	}
}
