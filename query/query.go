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

// PeriodStore is a Store that keeps several roll-up tiers and can read the
// coarsest one that still answers a period exactly (optional).
type PeriodStore interface {
	RangePeriod(ref store.SeriesRef, start, end, period int64, fn func(a *store.Aggregate))
}

// Config says which stores answer, and for which time.
type Config struct {
	Local    Store         // the node's recent window; required
	LongTerm Store         // everything older; nil on a node without one
	Window   time.Duration // how far back the local store answers; default 3 h
	// Federation, in a cluster, gives each read the stores of the nodes
	// that hold its tenant's data in place of Local and LongTerm.
	Federation Federation
	Now        func() time.Time
}

// Service serves the read operations.
type Service struct {
	local, longTerm Store
	fed             Federation
	window          time.Duration
	now             func() time.Time
	logger          *slog.Logger
}

// New returns a Service reading the configured stores.
func New(cfg Config, logger *slog.Logger) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Window <= 0 {
		cfg.Window = 3 * time.Hour
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{local: cfg.Local, longTerm: cfg.LongTerm, fed: cfg.Federation, window: cfg.Window, now: cfg.Now, logger: logger}
}
