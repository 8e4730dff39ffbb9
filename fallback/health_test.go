package fallback

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/dskit/backoff"
	"github.com/grafana/dskit/services"
)

func TestHealthModesFollowTheStream(t *testing.T) {
	dir := t.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	fs := NewFaultyStream(newMemStream(2))
	s, err := NewShipper(ShipperConfig{StateFile: filepath.Join(dir, "s.json"), AppendTimeout: time.Second,
		Backoff: backoff.Config{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		Health:  HealthConfig{AckBudget: 200 * time.Millisecond, RecoveredBacklog: 1, CatchUpBytesPerS: 1 << 30}}, w, fs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = services.StopAndAwaitTerminated(context.Background(), s) }()
	mode := func() Mode { m, _, _ := s.Health(); return m }

	appendMetrics(t, w, 1)
	waitFor(t, "healthy after a shipped record", func() bool { return mode() == ModeHealthy && s.Backlog() == 0 })

	for _, f := range []Fault{{Mode: FaultDown}, {Mode: FaultHang}, {Mode: FaultSlow, Delay: 300 * time.Millisecond}} {
		t.Run(string(f.Mode), func(t *testing.T) {
			if err := fs.Set(f); err != nil {
				t.Fatal(err)
			}
			appendMetrics(t, w, 2)
			waitFor(t, "degraded", func() bool { return mode() == ModeDegraded })
			if _, _, lastErr := s.Health(); lastErr == "" {
				t.Error("degraded without a reason")
			}
			if err := fs.Set(Fault{}); err != nil {
				t.Fatal(err)
			}
			appendMetrics(t, w, 3) // the mode is judged on appends: live writes go on
			waitFor(t, "healthy once the stream is back and the backlog drained", func() bool { return mode() == ModeHealthy && s.Backlog() == 0 })
		})
	}
	if err := fs.Set(Fault{Mode: "sideways"}); err == nil {
		t.Error("an unknown fault mode was accepted")
	}
}
