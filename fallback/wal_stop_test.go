package fallback

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/dirlock"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

func TestWALStop(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir, SyncInterval: time.Hour}
	w := openTestWAL(t, cfg)
	want := appendN(t, w, 0, 5)
	r := w.NewReader(0)
	if err := stopWAL(w); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := stopWAL(w); err != nil {
		t.Fatalf("second stop: got %v; want nil", err)
	}
	ctx := context.Background()
	if _, err := w.Append(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after stop: got %v; want ErrClosed", err)
	}
	if err := w.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after stop: got %v; want ErrClosed", err)
	}
	if err := w.Replay(ctx, 0, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after stop: got %v; want ErrClosed", err)
	}
	if err := w.TruncateBefore(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TruncateBefore after stop: got %v; want ErrClosed", err)
	}
	if _, _, err := r.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after stop: got %v; want ErrClosed", err)
	}
	// Stopping flushed and fsynced the records of the relaxed policy.
	w = openTestWAL(t, cfg)
	checkEntries(t, replayAll(t, w, 0), want)
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

// TestWALAppendAfterStopAsync checks the lifecycle's promise, in both sync
// policies: once StopAsync has returned, Append returns ErrClosed at once;
// every Append racing with the stop either returns ErrClosed or succeeds, and
// every one that returned nil is read back after a restart.
func TestWALAppendAfterStopAsync(t *testing.T) {
	for name, sync := range map[string]time.Duration{"fsync per batch": 0, "acknowledged before fsync": time.Hour} {
		t.Run(name, func(t *testing.T) { testAppendAfterStopAsync(t, WALConfig{Dir: t.TempDir(), SyncInterval: sync}) })
	}
}

func testAppendAfterStopAsync(t *testing.T, cfg WALConfig) {
	w := openTestWAL(t, cfg)
	var (
		mu    sync.Mutex
		acked = map[uint64]string{}
		wg    sync.WaitGroup
	)
	started := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				rec := testRecord(g*100000 + i)
				off, err := w.Append(context.Background(), rec)
				if i == 10 && g == 0 {
					close(started)
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				acked[off] = string(rec)
				mu.Unlock()
			}
		})
	}
	<-started
	w.StopAsync()
	if _, err := w.Append(context.Background(), []byte("after StopAsync")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after StopAsync: got %v; want ErrClosed", err)
	}
	if err := w.AwaitTerminated(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	wg.Wait()
	if _, err := w.Append(context.Background(), []byte("after stop")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after stop: got %v; want ErrClosed", err)
	}

	w = openTestWAL(t, cfg)
	got := map[uint64]string{}
	for _, e := range replayAll(t, w, 0) {
		got[e.off] = string(e.rec)
	}
	if len(acked) == 0 {
		t.Fatal("no Append was acknowledged")
	}
	for off, rec := range acked {
		if got[off] != rec {
			t.Fatalf("acknowledged record at %d: read back %q; want %q", off, got[off], rec)
		}
	}
	if len(got) != len(acked) {
		t.Errorf("read back %d records; want the %d acknowledged", len(got), len(acked))
	}
}

func TestWALLifecycle(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]WALConfig{
		"empty dir":         {},
		"negative segments": {Dir: t.TempDir(), SegmentSize: -1},
		"negative interval": {Dir: t.TempDir(), SyncInterval: -time.Second},
	} {
		if _, err := NewWAL(cfg, nil, nil); err == nil {
			t.Errorf("NewWAL with %s: got nil error", name)
		}
	}

	dir := filepath.Join(t.TempDir(), "wal")
	w, err := NewWAL(WALConfig{Dir: dir}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NewWAL touched %s: %v", dir, err)
	}
	if _, err := w.Append(ctx, []byte("early")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append before start: got %v; want ErrClosed", err)
	}
	if err := services.StartAndAwaitRunning(ctx, w); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopWAL(w) })

	// A second WAL on the same directory fails to start, and says so once.
	w2, err := NewWAL(WALConfig{Dir: dir}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = services.StartAndAwaitRunning(ctx, w2)
	if !errors.Is(err, dirlock.ErrHeld) {
		t.Fatalf("start of a second WAL on %s: got %v; want dirlock.ErrHeld", dir, err)
	}
	if n := strings.Count(err.Error(), "open wal"); n != 1 {
		t.Errorf("start error %q says \"open wal\" %d times; want once", err, n)
	}
	if w2.State() != services.Failed {
		t.Errorf("second WAL is %v; want Failed", w2.State())
	}
}
