package fallback

import (
	"context"
	"testing"
	"time"
)

func TestRetentionTrimsSegmentsOlderThanTheWindow(t *testing.T) {
	w, err := startWAL(WALConfig{Dir: t.TempDir(), SegmentSize: 1 << 10}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	rec := make([]byte, 200)
	for range 20 {
		if _, err := w.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	segs := w.Segments()
	if len(segs) < 4 {
		t.Fatalf("got %d segments; want several", len(segs))
	}
	shipped := uint64(0)
	r := NewRetention(w, time.Hour, time.Minute, func() uint64 { return shipped }, nil)

	r.now = func() time.Time { return segs[0].LastWrite.Add(30 * time.Minute) }
	if err := r.Trim(); err != nil {
		t.Fatal(err)
	}
	if got := len(w.Segments()); got != len(segs) {
		t.Fatalf("inside the window: got %d segments; want all %d kept", got, len(segs))
	}

	r.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := r.Trim(); err != nil {
		t.Fatal(err)
	}
	if got := len(w.Segments()); got != len(segs) {
		t.Fatalf("unshipped: got %d segments; want all %d kept for the stream", got, len(segs))
	}
	shipped = segs[1].End
	if err := r.Trim(); err != nil {
		t.Fatal(err)
	}
	if got := w.Segments(); got[0].Base != segs[2].Base {
		t.Fatalf("shipped through segment 1: first segment now %d; want %d", got[0].Base, segs[2].Base)
	}
	shipped = w.EndOffset()
	if err := r.Trim(); err != nil {
		t.Fatal(err)
	}
	left := w.Segments()
	if len(left) != 1 || !left[0].Active {
		t.Fatalf("past the window: got %+v; want only the active segment", left)
	}
	if w.FirstOffset() != left[0].Base {
		t.Errorf("first offset %d; want the active segment's base %d", w.FirstOffset(), left[0].Base)
	}
	n := 0
	if err := w.Replay(context.Background(), 0, func(uint64, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n >= 20 {
		t.Errorf("replayed %d records; want only the active segment's", n)
	}
}
