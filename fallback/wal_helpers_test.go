package fallback

import (
	"context"
	"log/slog"
	"os"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// startWAL builds a WAL and waits until it runs.
func startWAL(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger) (*WAL, error) {
	return startWALWith(cfg, reg, logger, nil)
}

// startWALWith is startWAL with a wrapper for the segment files.
func startWALWith(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger, wrapFile func(*os.File) seglog.File) (*WAL, error) {
	w, err := newWAL(cfg, reg, logger, wrapFile)
	if err != nil {
		return nil, err
	}
	if err := services.StartAndAwaitRunning(context.Background(), w); err != nil {
		return nil, err
	}
	return w, nil
}

// stopWAL stops w and waits until its files are closed.
func stopWAL(w *WAL) error { return services.StopAndAwaitTerminated(context.Background(), w) }
