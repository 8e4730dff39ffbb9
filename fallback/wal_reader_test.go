package fallback

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

func TestReaderTailsAcrossRotation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{
		{"fsync", 0},
		{"interval", 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openTestWAL(t, WALConfig{Dir: t.TempDir(), SegmentSize: 200, SyncInterval: tc.interval})
			before := appendN(t, w, 0, 3)
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			r := w.NewReader(0)
			defer r.Close()

			// Nothing after the existing records: Next blocks until ctx ends.
			ctx := context.Background()
			for range before {
				if _, _, err := r.Next(ctx); err != nil {
					t.Fatalf("Next: %v", err)
				}
			}
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, _, err := r.Next(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Next at the end: got %v; want context.DeadlineExceeded", err)
			}

			const n = 100
			type got struct {
				e   entry
				err error
			}
			ch := make(chan got, n)
			go func() {
				for range n {
					off, rec, err := r.Next(ctx)
					ch <- got{entry{off, rec}, err}
					if err != nil {
						return
					}
				}
			}()
			want := appendN(t, w, 3, n) // the relaxed policy shows them after the next periodic fsync
			var recv []entry
			for range n {
				g := <-ch
				if g.err != nil {
					t.Fatalf("Next: %v", g.err)
				}
				recv = append(recv, g.e)
			}
			checkEntries(t, recv, want)
			if segs := w.Segments(); len(segs) < 5 {
				t.Fatalf("got %d segments; want the reader to have crossed several rotations", len(segs))
			}
		})
	}
}

func TestReaderUnblocks(t *testing.T) {
	w := openTestWAL(t, WALConfig{Dir: t.TempDir()})
	r := w.NewReader(0)
	defer r.Close()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := r.Next(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: got %v; want context.Canceled", err)
	}

	go func() {
		_, _, err := r.Next(context.Background())
		errc <- err
	}()
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after WAL Close: got %v; want ErrClosed", err)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Reader Close: got %v; want ErrClosed", err)
	}
}

func TestReaderStartsMidFrame(t *testing.T) {
	w := openTestWAL(t, WALConfig{Dir: t.TempDir(), SegmentSize: 250})
	want := appendN(t, w, 0, 40)
	for _, from := range []int{0, 5, 17, 37} {
		r := w.NewReader(want[from].off + 2)
		off, rec, err := r.Next(context.Background())
		r.Close()
		if err != nil {
			t.Fatalf("Next from inside record %d: %v", from, err)
		}
		if exp := want[from+1]; off != exp.off || string(rec) != string(exp.rec) {
			t.Fatalf("Next from inside record %d: got (%d, %q); want (%d, %q)", from, off, rec, exp.off, exp.rec)
		}
		if got, exp := r.Offset(), want[from+2].off; got != exp {
			t.Fatalf("Offset after record %d: got %d; want %d", from+1, got, exp)
		}
	}
}

func TestTruncateBefore(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir, SegmentSize: 300}
	w := openTestWAL(t, cfg)
	want := appendN(t, w, 0, 100)
	segs := w.Segments()
	if len(segs) < 6 {
		t.Fatalf("got %d segments; want at least 6", len(segs))
	}

	// A reader in segment 1 reads one record, then its segment is deleted.
	r := w.NewReader(segs[1].Base)
	defer r.Close()
	if _, _, err := r.Next(context.Background()); err != nil {
		t.Fatalf("Next: %v", err)
	}

	// An offset inside segment 3 keeps segment 3 and deletes 0..2.
	cut := segs[3].Base + 1
	if err := w.TruncateBefore(cut); err != nil {
		t.Fatalf("TruncateBefore: %v", err)
	}
	left := w.Segments()
	if left[0].Base != segs[3].Base || len(left) != len(segs)-3 {
		t.Fatalf("after TruncateBefore(%d): got first segment %d of %d; want %d of %d", cut, left[0].Base, len(left), segs[3].Base, len(segs)-3)
	}
	if got := w.FirstOffset(); got != segs[3].Base {
		t.Fatalf("FirstOffset: got %d; want %d", got, segs[3].Base)
	}
	for i, s := range segs {
		_, err := os.Stat(seglog.SegmentPath(dir, segmentSuffix, s.Base))
		if exists := err == nil; exists != (i >= 3) {
			t.Fatalf("segment %d file exists = %v; want %v", i, exists, i >= 3)
		}
	}
	if _, _, err := r.Next(context.Background()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Next of a truncated reader: got %v; want ErrTruncated", err)
	}
	r0 := w.NewReader(0)
	if _, _, err := r0.Next(context.Background()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Next of a new reader at 0: got %v; want ErrTruncated", err)
	}
	r0.Close()

	var kept []entry
	for _, e := range want {
		if e.off >= segs[3].Base {
			kept = append(kept, e)
		}
	}
	checkEntries(t, replayAll(t, w, 0), kept)

	// Everything: only the active segment stays, and offsets go on after reopen.
	if err := w.TruncateBefore(math.MaxUint64); err != nil {
		t.Fatalf("TruncateBefore(max): %v", err)
	}
	if left := w.Segments(); len(left) != 1 || !left[0].Active {
		t.Fatalf("after TruncateBefore(max): got %+v; want only the active segment", left)
	}
	end := w.EndOffset()
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}
	w = openTestWAL(t, cfg)
	if got := w.EndOffset(); got != end {
		t.Fatalf("EndOffset after reopen: got %d; want %d", got, end)
	}
	more := appendN(t, w, 100, 1)
	if more[0].off != end {
		t.Fatalf("offset after truncation and reopen: got %d; want %d", more[0].off, end)
	}
}
