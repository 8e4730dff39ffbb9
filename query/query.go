package query

import (
	"log/slog"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// Store is the read side of a metric store.
type Store interface {
	// Lookup returns every series (one per unit) of exactly this metric.
	Lookup(tenant, namespace, metricName string, dims []record.Dimension) []store.SeriesRef
	Key(ref store.SeriesRef) store.SeriesKey
	// Range visits the series' buckets with Start in [start, end), ascending.
	Range(ref store.SeriesRef, start, end int64, fn func(a *store.Aggregate))
	// Series visits every series of the tenant with its newest timestamp.
	Series(tenant string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool)
}

// Service serves the read operations.
type Service struct {
	store  Store
	now    func() time.Time
	logger *slog.Logger
}

// New returns a Service reading st. now may be nil (time.Now).
func New(st Store, now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, now: now, logger: logger}
}
