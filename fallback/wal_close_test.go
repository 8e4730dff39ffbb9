package fallback

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

func TestWALClose(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir, SyncInterval: time.Hour}
	w := openTestWAL(t, cfg)
	want := appendN(t, w, 0, 5)
	r := w.NewReader(0)
	if err := stopWAL(w); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := stopWAL(w); err != nil {
		t.Fatalf("second Close: got %v; want nil", err)
	}
	ctx := context.Background()
	if _, err := w.Append(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: got %v; want ErrClosed", err)
	}
	if err := w.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: got %v; want ErrClosed", err)
	}
	if err := w.Replay(ctx, 0, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after Close: got %v; want ErrClosed", err)
	}
	if err := w.TruncateBefore(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TruncateBefore after Close: got %v; want ErrClosed", err)
	}
	if _, _, err := r.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: got %v; want ErrClosed", err)
	}
	// Close flushed and fsynced the records of the relaxed policy.
	w = openTestWAL(t, cfg)
	checkEntries(t, replayAll(t, w, 0), want)
}

// TestWALCloseWhileAppending checks that every Append racing with Close
// either succeeds (and its record is kept) or returns ErrClosed.
func TestWALCloseWhileAppending(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir}
	w := openTestWAL(t, cfg)
	var (
		mu sync.Mutex
		ok = map[uint64]bool{}
		wg sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				off, err := w.Append(context.Background(), testRecord(g*1000+i))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				ok[off] = true
				mu.Unlock()
			}
		})
	}
	appendN(t, w, 100000, 20)
	if err := stopWAL(w); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	w = openTestWAL(t, cfg)
	got := replayAll(t, w, 0)
	if len(got) != len(ok)+20 {
		t.Fatalf("replayed %d records; want the %d acknowledged", len(got), len(ok)+20)
	}
	for _, e := range got {
		delete(ok, e.off)
	}
	if len(ok) > 0 {
		t.Fatalf("%d acknowledged records missing after reopen", len(ok))
	}
}

func TestWALSyncInterval(t *testing.T) {
	dir := t.TempDir()
	w := openTestWAL(t, WALConfig{Dir: dir, SyncInterval: time.Hour})
	want := appendN(t, w, 0, 10)
	last := want[len(want)-1]
	end := last.off + seglog.FrameHeaderSize + uint64(len(last.rec))
	if got := w.EndOffset(); got != end {
		t.Fatalf("EndOffset before fsync: got %d; want %d", got, end)
	}
	if got := testutil.ToFloat64(w.logCfg.Metrics.Fsyncs); got != 0 {
		t.Fatalf("fsyncs before the interval: got %v; want 0", got)
	}
	// Readers see only fsynced records, so no offset they hand on can be lost.
	if got := replayAll(t, w, 0); len(got) != 0 {
		t.Fatalf("replayed %d records before fsync; want 0", len(got))
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got := testutil.ToFloat64(w.logCfg.Metrics.Fsyncs); got != 1 {
		t.Fatalf("fsyncs after Sync: got %v; want 1", got)
	}
	checkEntries(t, replayAll(t, w, 0), want)
}

func TestWALAppendCanceled(t *testing.T) {
	w := openTestWAL(t, WALConfig{Dir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: got %v; want context.Canceled", err)
	}
	if got := w.EndOffset(); got != 0 {
		t.Fatalf("EndOffset: got %d; want 0", got)
	}
}
