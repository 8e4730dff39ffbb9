package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/record"
)

var (
	// ErrFull is wrapped by Admit when the local store reached its memory
	// bound.
	ErrFull = errors.New("local store is full")
	// errConfig is wrapped by NewLocal for an invalid configuration.
	errConfig = errors.New("invalid local store configuration")
)

// Defaults of LocalConfig.
const (
	DefaultWindow       = 3 * time.Hour
	DefaultMaxBytes     = 2 << 30
	DefaultTrimInterval = 30 * time.Second
)

// LocalConfig configures a Local store. Zero fields take the defaults. The
// fields with a yaml key are settings of the node (RegisterFlags).
type LocalConfig struct {
	// Window is how long buckets are kept (default 3h): buckets whose
	// Start+Width <= now-Window are dropped and not accepted.
	Window time.Duration `yaml:"window"`
	// MaxBytes bounds the store's accounted memory (default 2 GiB); see
	// Admit.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxLogBytes bounds the memory of the log events the store keeps
	// (default DefaultMaxLogBytes); past it the oldest go first, and the
	// long-term store answers for their time.
	MaxLogBytes int64 `yaml:"max_log_bytes"`
	// Now is the clock (default time.Now).
	Now func() time.Time `yaml:"-"`
	// TrimInterval is how often the service trims (default 30s).
	TrimInterval time.Duration `yaml:"-"`
	// MaxSilence is the longest time between two liveness marks that still
	// counts as covered (default DefaultMaxSilence); see Coverage.
	MaxSilence time.Duration `yaml:"-"`
}

// RegisterFlags binds the node's local store settings to flags on fs.
func (c *LocalConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.MaxBytes, "store.max-bytes", DefaultMaxBytes, "memory bound of the local store; PutMetricData answers 503 ServiceUnavailable when it is reached")
	fs.DurationVar(&c.Window, "store.window", DefaultWindow, "how much recent data the local store keeps")
	fs.Int64Var(&c.MaxLogBytes, "store.max-log-bytes", DefaultMaxLogBytes, "memory bound of the log events in the local store; past it the oldest are dropped from memory (they stay in the WAL and reach the long-term store)")
}

// Validate checks the node's settings (NewLocal also accepts zero values,
// which take the defaults).
func (c *LocalConfig) Validate() error {
	switch {
	case c.MaxBytes <= 0:
		return fmt.Errorf("-store.max-bytes %d must be positive", c.MaxBytes)
	case c.MaxLogBytes <= 0:
		return fmt.Errorf("-store.max-log-bytes %d must be positive", c.MaxLogBytes)
	case c.Window < time.Minute:
		return fmt.Errorf("-store.window %s is below one minute", c.Window)
	}
	return nil
}

// Local is the in-memory store of the last Window of aggregates, fed from the
// node's WAL. It is safe for concurrent use: Apply runs from many request
// goroutines while queries read.
//
// Local is a dskit service: starting rebuilds it from its record source (the
// node's WAL); running is a timer that trims buckets older than the window
// and seals idle open buckets every TrimInterval.
type Local struct {
	services.Service

	cfg    LocalConfig
	window int64 // seconds
	log    *slog.Logger
	seed   maphash.Seed
	shards [numShards]shard
	cov    localCoverage
	logs   localLogs

	applied, outOfWindow, invalid, seriesLimit prometheus.Counter
	trimmed, late, corrupt                     prometheus.Counter
}

// NewLocal returns an empty local store that, when its service starts, is
// rebuilt from src (nil: it starts empty); see Rebuild. reg may be nil; a
// nil logger discards.
func NewLocal(cfg LocalConfig, src RecordSource, reg prometheus.Registerer, logger *slog.Logger) (*Local, error) {
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxLogBytes == 0 {
		cfg.MaxLogBytes = DefaultMaxLogBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TrimInterval == 0 {
		cfg.TrimInterval = DefaultTrimInterval
	}
	if cfg.MaxSilence == 0 {
		cfg.MaxSilence = DefaultMaxSilence
	}
	switch {
	case cfg.Window < time.Second:
		return nil, fmt.Errorf("window %s: must be at least 1s: %w", cfg.Window, errConfig)
	case cfg.MaxBytes < 0 || cfg.MaxLogBytes < 0:
		return nil, fmt.Errorf("max bytes %d, max log bytes %d: must not be negative: %w", cfg.MaxBytes, cfg.MaxLogBytes, errConfig)
	case cfg.TrimInterval < 0:
		return nil, fmt.Errorf("trim interval %s: must be positive: %w", cfg.TrimInterval, errConfig)
	case cfg.MaxSilence < 0:
		return nil, fmt.Errorf("max silence %s: must be positive: %w", cfg.MaxSilence, errConfig)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Local{
		cfg:    cfg,
		window: int64(cfg.Window / time.Second),
		log:    logger,
		seed:   maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].index = make(map[uint64]uint32)
		l.shards[i].byNS = make(map[nsKey][]uint32)
		l.shards[i].names = make(map[string]string)
	}

	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_store_series",
		Help: "Series held by the local store.",
	}, func() float64 { return float64(l.NumSeries()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_store_bytes",
		Help: "Accounted memory of the local store.",
	}, func() float64 { return float64(l.Bytes()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_store_max_bytes",
		Help: "Memory bound of the local store (-store.max-bytes).",
	}, func() float64 { return float64(l.cfg.MaxBytes) })
	l.applied = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_store_datums_applied_total",
		Help: "Datums merged into the local store.",
	})
	dropped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "cellwatch_store_datums_dropped_total",
		Help: "Datums not merged into the local store, by reason (out_of_window, invalid, series_limit).",
	}, []string{"reason"})
	l.outOfWindow = dropped.WithLabelValues("out_of_window")
	l.invalid = dropped.WithLabelValues("invalid")
	l.seriesLimit = dropped.WithLabelValues("series_limit")
	l.trimmed = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_store_buckets_trimmed_total",
		Help: "Buckets dropped from the local store because they left the window.",
	})
	l.late = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_store_late_merges_total",
		Help: "Datums merged into an already sealed (compressed) bucket chunk.",
	})
	l.corrupt = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_store_rebuild_corrupt_records_total",
		Help: "WAL records skipped while rebuilding the local store because they could not be decoded.",
	})
	l.registerCoverageMetrics(f)

	var rebuild services.StartingFn
	if src != nil {
		rebuild = func(ctx context.Context) error { return l.Rebuild(ctx, src) }
	}
	l.Service = services.NewTimerService(cfg.TrimInterval, rebuild, func(context.Context) error {
		l.Trim()
		return nil
	}, nil)
	return l, nil
}

// cutoff returns the first second still in the window: buckets with
// Start+Width <= cutoff are out.
func (l *Local) cutoff(now int64) int64 { return now - l.window }

// Bytes returns the accounted memory: chunk bytes, open buckets, sketches,
// series structs and keys. It is approximate but proportional to the heap the
// store holds.
func (l *Local) Bytes() int64 {
	var n int64
	for i := range l.shards {
		n += l.shards[i].bytes.Load()
	}
	return n
}

// NumSeries returns the number of series held.
func (l *Local) NumSeries() int {
	var n int64
	for i := range l.shards {
		n += l.shards[i].count.Load()
	}
	return int(n)
}

// Admit returns nil when the store can take more data, or an error wrapping
// ErrFull. Ingest calls it before writing to the WAL.
func (l *Local) Admit() error {
	if b := l.Bytes(); b >= l.cfg.MaxBytes {
		return fmt.Errorf("%w: using %d of %d bytes (-store.max-bytes); "+
			"writes resume as data older than %s is dropped, or raise the bound",
			ErrFull, b, l.cfg.MaxBytes, l.cfg.Window)
	}
	return nil
}

// validDatum reports whether d can be merged: finite numbers, a positive
// count.
func validDatum(d *record.Datum) bool {
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	switch {
	case d.Stats != nil:
		s := d.Stats
		return finite(s.SampleCount) && finite(s.Sum) && finite(s.Min) && finite(s.Max) && s.SampleCount > 0
	case len(d.Values) > 0:
		if len(d.Counts) != 0 && len(d.Counts) != len(d.Values) {
			return false
		}
		total := 0.0
		for i, v := range d.Values {
			c := 1.0
			if len(d.Counts) > 0 {
				c = d.Counts[i]
			}
			if !finite(v) || !finite(c) || c < 0 {
				return false
			}
			total += c
		}
		return total > 0
	default:
		return finite(d.Value)
	}
}

// Apply merges every datum of m. It never fails: datums outside the window
// (bucket end at or before now-Window), invalid ones (non-finite numbers, no
// positive count) and datums of a new series in a full shard are skipped and
// counted (cellwatch_store_datums_dropped_total).
func (l *Local) Apply(m *record.Metrics) {
	now := l.cfg.Now().Unix()
	cutoff := l.cutoff(now)
	var applied, oow, invalid, limit, late int
	for i := range m.Datums {
		d := &m.Datums[i]
		if !validDatum(d) {
			invalid++
			continue
		}
		sec := floorDiv(d.Timestamp, 1000)
		width := int64(60)
		if d.HighRes {
			width = 1
		}
		start := floorDiv(sec, width) * width
		if start+width <= cutoff {
			oow++
			continue
		}
		dims := sortedDims(d.Dimensions)
		h := hashIdentity(l.seed, m.Tenant, m.Namespace, d.MetricName, dims)
		sh := &l.shards[h>>(64-shardBits)]
		sh.mu.Lock()
		slot := sh.find(h, m.Tenant, m.Namespace, d.MetricName, dims, d.Unit)
		if slot < 0 {
			slot = sh.create(h, m.Tenant, m.Namespace, d.MetricName, dims, d.Unit)
		}
		if slot < 0 {
			sh.mu.Unlock()
			limit++
			continue
		}
		s := sh.slot(uint32(slot))
		s.newest = max(s.newest, sec)
		if s.addDatum(d, start, width, now, l.log) {
			late++
		}
		sh.account(s)
		sh.mu.Unlock()
		applied++
	}
	if applied > 0 {
		l.applied.Add(float64(applied))
	}
	if oow > 0 {
		l.outOfWindow.Add(float64(oow))
	}
	if invalid > 0 {
		l.invalid.Add(float64(invalid))
	}
	if limit > 0 {
		l.seriesLimit.Add(float64(limit))
		l.log.Warn("local store: series limit of a shard reached, datums dropped", "datums", limit)
	}
	if late > 0 {
		l.late.Add(float64(late))
	}
}

// Trim drops buckets that left the window, seals idle open buckets, and
// removes series left without buckets. The service calls it every
// TrimInterval.
func (l *Local) Trim() {
	now := l.cfg.Now().Unix()
	cutoff := l.cutoff(now)
	dropped := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for slot := range sh.nslots {
			s := sh.slot(slot)
			if s.key == nil {
				continue
			}
			dropped += s.trim(cutoff, now)
			if len(s.open) == 0 && len(s.chunks) == 0 {
				sh.remove(slot)
				continue
			}
			sh.account(s)
		}
		sh.mu.Unlock()
	}
	if dropped > 0 {
		l.trimmed.Add(float64(dropped))
	}
	l.cov.mu.Lock()
	l.cov.trimLocked(cutoff * 1000)
	l.cov.mu.Unlock()
	l.trimLogs()
}

// Lookup returns the series of the metric, one per unit, matching the
// dimension set exactly (dims sorted by name).
func (l *Local) Lookup(tenant, namespace, metricName string, dims []record.Dimension) []SeriesRef {
	dims = sortedDims(dims)
	h := hashIdentity(l.seed, tenant, namespace, metricName, dims)
	si := uint32(h >> (64 - shardBits))
	sh := &l.shards[si]
	var refs []SeriesRef
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	head, ok := sh.index[h]
	for i := head; ok; {
		s := sh.slot(i)
		if sameIdentity(s.key, tenant, namespace, metricName, dims) {
			refs = append(refs, makeRef(si, i, s.gen))
		}
		if s.next == 0 {
			break
		}
		i = s.next - 1
	}
	return refs
}

// Key returns the key of ref (the zero key for a stale ref). Its Dimensions
// must not be modified.
func (l *Local) Key(ref SeriesRef) SeriesKey {
	si, slot, gen := ref.parts()
	sh := &l.shards[si]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if s := sh.get(slot, gen); s != nil {
		return *s.key
	}
	return SeriesKey{}
}

// Range calls fn for each bucket of the series whose Start is in [start,
// end) (Unix seconds) and which is still in the window, ascending by Start
// (then Width). fn must not retain a; it runs without locks held, so it may
// call the store.
func (l *Local) Range(ref SeriesRef, start, end int64, fn func(a *Aggregate)) {
	if start >= end {
		return
	}
	cutoff := l.cutoff(l.cfg.Now().Unix())
	si, slot, gen := ref.parts()
	sh := &l.shards[si]

	sc := rangePool.Get().(*rangeScratch)
	defer rangePool.Put(sc)
	chunks, open := sc.chunks[:0], sc.open[:0]
	sh.mu.RLock()
	s := sh.get(slot, gen)
	if s == nil {
		sh.mu.RUnlock()
		return
	}
	for _, c := range s.chunks {
		if c.first < end && c.end() > start && c.end() > cutoff {
			chunks = append(chunks, c)
		}
	}
	for i := range s.open {
		a := &s.open[i]
		if a.Start >= start && a.Start < end && a.Start+a.Width > cutoff {
			if len(open) < cap(open) {
				open = open[:len(open)+1]
			} else {
				open = append(open, Aggregate{})
			}
			a.cloneInto(&open[len(open)-1])
		}
	}
	sh.mu.RUnlock()
	defer func() {
		clear(chunks) // do not keep chunk data alive from the pool
		sc.chunks, sc.open = chunks[:0], open[:0]
	}()

	a := &sc.a
	for _, c := range chunks {
		r := newChunkReader(c.data, c.first)
		for r.next(a) {
			if a.Start >= end {
				break
			}
			if a.Start < start || a.Start+a.Width <= cutoff {
				continue
			}
			fn(a)
		}
		if r.Err() != nil {
			l.log.Error("local store: corrupt chunk, buckets skipped", "ref", ref, "first", c.first, "err", r.Err())
		}
	}
	for i := range open {
		fn(&open[i])
	}
}

// rangeScratch is reused across Range calls.
type rangeScratch struct {
	a      Aggregate
	chunks []chunk
	open   []Aggregate
}

var rangePool = sync.Pool{New: func() any { return new(rangeScratch) }}

// Series calls fn for every series of tenant, in no particular order, with
// the newest datum timestamp seen (Unix seconds), until fn returns false. fn
// runs without locks held; key must not be modified.
func (l *Local) Series(tenant string, fn func(ref SeriesRef, key *SeriesKey, newest int64) bool) {
	l.visitShards(fn, func(sh *shard, add func(uint32, *series)) {
		for slot := range sh.nslots {
			if s := sh.slot(slot); s.key != nil && s.key.Tenant == tenant {
				add(slot, s)
			}
		}
	})
}

// SeriesOf calls fn for every series of tenant in namespace, in no
// particular order, with the newest datum timestamp seen (Unix seconds),
// until fn returns false. It reads each shard's namespace index, so it costs
// the namespace's series, not the store's. fn runs without locks held; key
// must not be modified.
func (l *Local) SeriesOf(tenant, namespace string, fn func(ref SeriesRef, key *SeriesKey, newest int64) bool) {
	l.visitShards(fn, func(sh *shard, add func(uint32, *series)) {
		for _, slot := range sh.byNS[nsKey{tenant, namespace}] {
			add(slot, sh.slot(slot))
		}
	})
}

// visitShards collects, shard by shard under its read lock, the series that
// pick adds, and calls fn for them after releasing the lock.
func (l *Local) visitShards(fn func(ref SeriesRef, key *SeriesKey, newest int64) bool, pick func(sh *shard, add func(uint32, *series))) {
	type item struct {
		ref    SeriesRef
		key    *SeriesKey
		newest int64
	}
	var buf []item
	for si := range l.shards {
		sh := &l.shards[si]
		buf = buf[:0]
		sh.mu.RLock()
		pick(sh, func(slot uint32, s *series) {
			buf = append(buf, item{makeRef(uint32(si), slot, s.gen), s.key, s.newest})
		})
		sh.mu.RUnlock()
		for _, it := range buf {
			if !fn(it.ref, it.key, it.newest) {
				return
			}
		}
	}
}

// RecordSource is how the store is rebuilt at start: the node's WAL (cmd
// wires it).
type RecordSource interface {
	Replay(ctx context.Context, from uint64, fn func(offset uint64, rec []byte) error) error
}

// Rebuild replays src from its beginning and applies every KindMetrics and
// KindLogs record (src's NodeID, when it has one, is its events' origin)
// and every liveness mark (KindLiveness: the coverage, see
// ApplyLiveness); other kinds are skipped, records that do not decode are
// logged, counted (cellwatch_store_rebuild_corrupt_records_total) and
// skipped. Data outside the window is skipped by Apply.
func (l *Local) Rebuild(ctx context.Context, src RecordSource) error {
	var m record.Metrics
	var logs record.Logs
	var applied, skipped, corrupt, marks int
	began := time.Now()
	origin := ""
	if o, ok := src.(interface{ NodeID() string }); ok {
		origin = o.NodeID() // the identity of its log events
	}
	err := src.Replay(ctx, 0, func(offset uint64, rec []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		kind, err := record.KindOf(rec)
		if err == nil && kind == record.KindLiveness {
			var mark record.Liveness
			if mark, err = record.DecodeLiveness(rec); err == nil {
				l.ApplyLiveness(mark)
				marks++
				return nil
			}
		} else if err == nil && kind == record.KindLogs {
			if err = record.DecodeLogs(rec, &logs); err == nil {
				l.ApplyLogs(origin, offset, &logs)
				applied++
				return nil
			}
		} else if err == nil && kind != record.KindMetrics {
			skipped++
			return nil
		}
		if err == nil {
			err = record.DecodeMetrics(rec, &m)
		}
		if err != nil {
			corrupt++
			l.corrupt.Inc()
			l.log.Warn("local store rebuild: skipping corrupt record", "offset", offset, "err", err)
			return nil
		}
		l.Apply(&m)
		applied++
		return nil
	})
	l.log.Info("local store rebuilt", "records", applied, "liveness_marks", marks, "other_kinds", skipped, "corrupt", corrupt,
		"covered", l.coverageSummary(),
		"series", l.NumSeries(), "bytes", l.Bytes(), "took", time.Since(began))
	if err != nil {
		return fmt.Errorf("rebuild local store: %w", err)
	}
	return nil
}
