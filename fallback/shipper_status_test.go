package fallback

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
)

func TestEndSamplesDateTheBacklogWithinBoundedMemory(t *testing.T) {
	var e endSamples
	t0 := time.Unix(1_000_000, 0)
	for i := range 5000 {
		e.add(uint64(i*100), t0.Add(time.Duration(i)*time.Second))
	}
	if len(e.samples) > maxSamples {
		t.Fatalf("kept %d samples; want at most %d", len(e.samples), maxSamples)
	}
	// The newest samples stay one second apart.
	at, ok := e.writtenAfter(4990*100 + 50)
	if !ok || !at.Equal(t0.Add(4990*time.Second)) {
		t.Errorf("recent: got %v, %v; want %v", at, ok, t0.Add(4990*time.Second))
	}
	// Old ones are coarser but never later than the truth.
	at, ok = e.writtenAfter(100*100 + 50)
	if !ok || at.After(t0.Add(100*time.Second)) {
		t.Errorf("old: got %v; want at or before %v", at, t0.Add(100*time.Second))
	}
	e.drop(4000 * 100)
	if at, _ := e.writtenAfter(4000 * 100); !at.Equal(t0.Add(4000 * time.Second)) {
		t.Errorf("after drop: got %v", at)
	}
}

func TestShipperStatusDuringAnOutage(t *testing.T) {
	dir := t.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	fs := NewFaultyStream(newMemStream(2))
	s := startShipper(t, w, fs, dir, 0, nil)
	for i := range 10 {
		appendMetrics(t, w, i)
	}
	waitFor(t, "shipping", func() bool { return s.Backlog() == 0 })
	if err := fs.Set(Fault{Mode: FaultDown}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		appendMetrics(t, w, i)
	}
	waitFor(t, "degraded", func() bool { return s.Status().Mode == ModeDegraded })
	waitFor(t, "a dated backlog", func() bool { return s.Status().OldestUnshippedAge > 0 })
	st := s.Status()
	if st.BacklogBytes == 0 || st.BacklogRecords < 9 || st.BacklogRecords > 11 || st.CatchUpETA != -1 || st.Fault.Mode != FaultDown {
		t.Errorf("got %+v; want a backlog of about 10 records, no ETA while down, the fault shown", st)
	}
	if st.WALEndOffset-st.ShippedOffset != st.BacklogBytes {
		t.Errorf("offsets %d - %d do not make the backlog %d", st.WALEndOffset, st.ShippedOffset, st.BacklogBytes)
	}
	_ = services.StopAndAwaitTerminated(context.Background(), s)
}
