package fallback

import (
	"context"
	"log/slog"
	"time"

	"github.com/grafana/dskit/services"
)

// Retention deletes WAL segments the node no longer needs: closed segments
// whose last write is older than the local store's window. The local store is
// rebuilt from what is left, so the WAL never holds much more than a window.
type Retention struct {
	services.Service
	wal    *WAL
	window time.Duration
	now    func() time.Time
	logger *slog.Logger
}

// NewRetention returns a service that trims wal every interval.
func NewRetention(wal *WAL, window, interval time.Duration, logger *slog.Logger) *Retention {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Retention{wal: wal, window: window, now: time.Now, logger: logger}
	r.Service = services.NewTimerService(interval, nil, r.iterate, nil)
	return r
}

func (r *Retention) iterate(context.Context) error {
	if err := r.Trim(); err != nil {
		r.logger.Warn("trim wal", "err", err) // a failed trim is retried next tick; it must not stop the node
	}
	return nil
}

// Trim deletes every closed segment, oldest first, up to the first one
// written to within the window.
func (r *Retention) Trim() error {
	cutoff := r.now().Add(-r.window)
	var upTo uint64
	for _, s := range r.wal.Segments() {
		if s.Active || !s.LastWrite.Before(cutoff) {
			break
		}
		upTo = s.End
	}
	if upTo == 0 {
		return nil
	}
	return r.wal.TruncateBefore(upTo)
}
