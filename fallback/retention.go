package fallback

import (
	"context"
	"log/slog"
	"time"

	"github.com/grafana/dskit/services"
)

// Retention deletes WAL segments the node no longer needs: closed segments
// whose last write is older than the local store's window and which the
// shipper has shipped (or dropped over its backlog cap). The local store is
// rebuilt from what is left.
type Retention struct {
	services.Service
	wal     *WAL
	window  time.Duration
	shipped func() uint64
	now     func() time.Time
	logger  *slog.Logger
}

// NewRetention returns a service that trims wal every interval. shipped
// returns the offset below which everything is in the stream; nil means no
// stream is waiting for the WAL.
func NewRetention(wal *WAL, window, interval time.Duration, shipped func() uint64, logger *slog.Logger) *Retention {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Retention{wal: wal, window: window, shipped: shipped, now: time.Now, logger: logger}
	r.Service = services.NewTimerService(interval, nil, r.iterate, nil)
	return r
}

func (r *Retention) iterate(context.Context) error {
	if err := r.Trim(); err != nil {
		r.logger.Warn("trim wal", "err", err) // a failed trim is retried next tick; it must not stop the node
	}
	return nil
}

// Trim deletes closed segments, oldest first, up to the first one written to
// within the window or not wholly shipped.
func (r *Retention) Trim() error {
	cutoff := r.now().Add(-r.window)
	var upTo uint64
	for _, s := range r.wal.Segments() {
		if s.Active || !s.LastWrite.Before(cutoff) || (r.shipped != nil && s.End > r.shipped()) {
			break
		}
		upTo = s.End
	}
	if upTo == 0 {
		return nil
	}
	return r.wal.TruncateBefore(upTo)
}
