package fallback

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// faultyFile wraps a segment file and fails or blocks on demand.
type faultyFile struct {
	*os.File
	faults *faults
}

type faults struct {
	mu        sync.Mutex
	writeErr  error         // next writes write half their bytes, then fail with it
	syncErr   error         // next fsyncs fail with it
	gate      chan struct{} // if set, writes block until it is closed
	gateEnter chan struct{} // receives a value when a write reaches the gate
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.faults.mu.Lock()
	werr, gate, enter := f.faults.writeErr, f.faults.gate, f.faults.gateEnter
	f.faults.mu.Unlock()
	if gate != nil {
		enter <- struct{}{}
		<-gate
	}
	if werr != nil {
		n, err := f.File.Write(p[:len(p)/2])
		if err != nil {
			return n, err
		}
		return n, werr
	}
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	f.faults.mu.Lock()
	serr := f.faults.syncErr
	f.faults.mu.Unlock()
	if serr != nil {
		return serr
	}
	return f.File.Sync()
}

func (fl *faults) set(fn func(*faults)) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fn(fl)
}

func openFaultyWAL(t *testing.T, cfg WALConfig) (*WAL, *faults) {
	t.Helper()
	fl := &faults{}
	w, err := startWALWith(cfg, prometheus.NewRegistry(), nil, func(f *os.File) seglog.File { return &faultyFile{f, fl} })
	if err != nil {
		t.Fatalf("openWAL: %v", err)
	}
	t.Cleanup(func() { _ = stopWAL(w) })
	return w, fl
}

func TestWALWriteErrorRollsBack(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir}
	w, fl := openFaultyWAL(t, cfg)
	want := appendN(t, w, 0, 5)

	fl.set(func(f *faults) { f.writeErr = syscall.ENOSPC })
	_, err := w.Append(context.Background(), []byte("lost"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: got %v; want ENOSPC", err)
	}
	if w.Err() != nil {
		t.Fatalf("Err after a rolled-back write: got %v; want nil", w.Err())
	}
	if got := testutil.ToFloat64(w.logCfg.Metrics.WriteErrors); got != 1 {
		t.Fatalf("write_errors_total: got %v; want 1", got)
	}

	fl.set(func(f *faults) { f.writeErr = nil })
	more := appendN(t, w, 5, 5) // space is back: the WAL recovers
	want = append(want, more...)
	checkEntries(t, replayAll(t, w, 0), want)
	if err := stopWAL(w); err != nil {
		t.Fatal(err)
	}
	// No half frame was left on disk for the start-up scan to find.
	valid, reason, err := seglog.Validate(seglog.SegmentPath(dir, segmentSuffix, 0), false)
	if err != nil || reason != nil {
		t.Fatalf("segment after roll-back: valid %d, reason %v, err %v; want no corruption", valid, reason, err)
	}
	w = openTestWAL(t, cfg)
	checkEntries(t, replayAll(t, w, 0), want)
}

func TestWALSyncErrorFails(t *testing.T) {
	dir := t.TempDir()
	cfg := WALConfig{Dir: dir}
	w, fl := openFaultyWAL(t, cfg)
	want := appendN(t, w, 0, 5)

	fl.set(func(f *faults) { f.syncErr = syscall.EIO })
	_, err := w.Append(context.Background(), []byte("not durable"))
	if !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrFailed) {
		t.Fatalf("Append with failing fsync: got %v; want EIO and ErrFailed", err)
	}
	fl.set(func(f *faults) { f.syncErr = nil })
	if _, err := w.Append(context.Background(), []byte("after")); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append after a failed fsync: got %v; want ErrFailed wrapping EIO", err)
	}
	if err := stopWAL(w); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close of a failed WAL: got %v; want ErrFailed", err)
	}
	w = openTestWAL(t, cfg)
	checkEntries(t, replayAll(t, w, 0), want)
}

func TestWALMaxPendingBytes(t *testing.T) {
	big, rec := testRecord(40), testRecord(1)
	w, fl := openFaultyWAL(t, WALConfig{Dir: t.TempDir(), MaxPendingBytes: int64(seglog.FrameHeaderSize + len(big))})
	gate, enter := make(chan struct{}), make(chan struct{}, 1)
	fl.set(func(f *faults) { f.gate, f.gateEnter = gate, enter })

	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, err := w.Append(ctx, big) // fills the queue bound
		first <- err
	}()
	<-enter // the writer holds the first record in write(2)

	// Any further record would exceed the bound: it waits, and gives up with ctx.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := w.Append(short, rec)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "queue space") {
		t.Fatalf("Append over MaxPendingBytes: got %v; want a wait for queue space ending in context.DeadlineExceeded", err)
	}

	fl.set(func(f *faults) { f.gate = nil })
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first Append: %v", err)
	}
	if _, err := w.Append(ctx, rec); err != nil {
		t.Fatalf("Append after the queue drained: %v", err)
	}
}
