package fallback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/backoff"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/internal/seglog"
)

// Stream is where the shipper sends records: a partitioned log.
type Stream interface {
	Partitions() int
	// Append appends records to partition p as one batch, durably when it returns nil.
	Append(ctx context.Context, p int, records [][]byte) (first int64, err error)
}

// shipperState is what the shipper persists, atomically, in StateFile.
type shipperState struct {
	Origin  string      `json:"origin"`        // node ID of the WAL the offsets belong to
	Shipped uint64      `json:"shipped"`       // WAL offset up to which every record is in the stream
	Gap     *record.Gap `json:"gap,omitempty"` // dropped records whose marker is not shipped yet
}

// Shipper tails the WAL and appends its records to the stream, FIFO, in
// batches, each WAL record split by series into the stream's partitions with
// its identity (node ID, WAL offset) on every part. When the stream fails it
// retries with backoff and the backlog stays in the WAL; nothing on the
// request path waits for it. Past MaxBacklogBytes the oldest unshipped
// segments are dropped, counted, and a gap marker is shipped once the
// stream takes writes again.
type Shipper struct {
	services.Service
	cfg    ShipperConfig
	wal    *WAL
	stream Stream
	logger *slog.Logger

	mu        sync.Mutex
	state     shipperState
	persisted time.Time
	health    *health
	ends      endSamples
	drain     rate
	// totals for Status (the counters below are for /metrics)
	totalRecords, totalBytes, totalDropped atomic.Uint64
	fault                                  interface{ Current() Fault }

	shippedRecords prometheus.Counter
	shippedBytes   prometheus.Counter
	appendErrors   prometheus.Counter
	droppedBytes   prometheus.Counter
	gapsShipped    prometheus.Counter
}

// NewShipper returns the shipper service; it resumes from the state file
// when it starts, after the WAL.
func NewShipper(cfg ShipperConfig, wal *WAL, stream Stream, reg prometheus.Registerer, logger *slog.Logger) (*Shipper, error) {
	cfg.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Shipper{cfg: cfg, wal: wal, stream: stream, logger: logger}
	f := promauto.With(reg)
	s.shippedRecords = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_shipper_records_total", Help: "WAL records shipped to the stream."})
	s.shippedBytes = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_shipper_bytes_total", Help: "WAL bytes shipped to the stream."})
	s.appendErrors = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_shipper_append_errors_total", Help: "Failed appends to the stream (each is retried)."})
	s.droppedBytes = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_shipper_dropped_bytes_total", Help: "Unshipped WAL bytes dropped because the backlog passed its cap."})
	s.gapsShipped = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_shipper_gaps_shipped_total", Help: "Gap markers shipped for dropped backlog."})
	// The gauges read the WAL, which only answers while it runs: the
	// shipper runs inside that time, and they read 0 outside it.
	gauge := func(name, help string, value func() float64) {
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if s.State() != services.Running {
				return 0
			}
			return value()
		})
	}
	gauge("cellwatch_shipper_backlog_bytes", "WAL bytes not yet in the stream.",
		func() float64 { return float64(s.Backlog()) })
	gauge("cellwatch_shipper_backlog_records", "WAL records not yet in the stream (estimated from the mean record size).",
		func() float64 { return float64(s.Status().BacklogRecords) })
	gauge("cellwatch_shipper_oldest_unshipped_age_seconds", "Age of the oldest WAL data not yet in the stream.",
		func() float64 { return s.Status().OldestUnshippedAge })
	gauge("cellwatch_shipper_shipped_offset", "WAL offset below which everything is in the stream.",
		func() float64 { return float64(s.Shipped()) })
	gauge("cellwatch_wal_first_offset", "Offset of the oldest record the WAL keeps.",
		func() float64 { return float64(s.wal.FirstOffset()) })
	gauge("cellwatch_shipper_gap_pending", "1 while a gap marker for dropped backlog waits to be shipped.",
		func() float64 {
			if s.Status().GapPending {
				return 1
			}
			return 0
		})
	gauge("cellwatch_shipper_catch_up_eta_seconds", "Estimated seconds until the backlog is shipped (-1: not draining).",
		func() float64 { return s.Status().CatchUpETA })
	modeGauge := f.NewGaugeVec(prometheus.GaugeOpts{Name: "cellwatch_node_mode", Help: "1 for the node's current health mode (healthy, degraded, recovering)."}, []string{"mode"})
	s.health = newHealth(cfg.Health, modeGauge, func(from, to Mode) {
		logger.Warn("health mode changed", "from", from, "to", to, "backlog_bytes", s.Backlog())
	})
	if fs, ok := stream.(interface{ Current() Fault }); ok {
		s.fault = fs
	}
	s.Service = services.NewBasicService(s.starting, s.run, s.stopping)
	return s, nil
}

// Shipped returns the WAL offset up to which every record is in the stream
// (or was dropped over the cap).
func (s *Shipper) Shipped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Shipped
}

// Backlog returns the WAL bytes not yet shipped.
func (s *Shipper) Backlog() uint64 { return s.backlogAfter(s.Shipped()) }

func (s *Shipper) backlogAfter(shipped uint64) uint64 {
	end := s.wal.EndOffset()
	if end < shipped {
		return 0
	}
	return end - shipped
}

// Health returns the node's mode towards the stream, since when it holds,
// and the last problem the shipper met ("" when none).
func (s *Shipper) Health() (mode Mode, since time.Time, lastError string) { return s.health.state() }

func (s *Shipper) run(ctx context.Context) error {
	bo := backoff.New(ctx, s.cfg.Backoff)
	r := s.wal.NewReader(s.Shipped())
	defer func() { r.Close() }()
	b := newShipBatch(s.stream.Partitions())
	go s.sampleEnds(ctx)
	for ctx.Err() == nil {
		if s.enforceCap() {
			r.Close()
			r = s.wal.NewReader(s.Shipped())
			b.reset()
		}
		if err := s.shipGap(ctx); err != nil {
			s.failed(ctx, bo, "ship gap marker", err)
			continue
		}
		if b.empty() {
			if err := s.fill(ctx, r, b); err != nil {
				if errors.Is(err, ErrTruncated) { // retention deleted what we had not read: count it as dropped
					s.dropTo(s.wal.FirstOffset())
					r.Close()
					r = s.wal.NewReader(s.Shipped())
					b.reset()
				} else if ctx.Err() == nil && !errors.Is(err, ErrClosed) {
					s.logger.Warn("read wal for shipping", "err", err)
				}
				if errors.Is(err, ErrClosed) {
					return nil
				}
				continue
			}
		}
		s.health.pace(ctx, b.bytes)
		s.health.begin()
		began := time.Now()
		if err := s.ship(ctx, b); err != nil {
			s.failed(ctx, bo, "append to stream", err)
			continue
		}
		bo.Reset()
		s.health.succeeded(time.Since(began), s.backlogAfter(b.end))
		s.advance(b.end, false)
		s.drain.observe(b.bytes, time.Now())
		s.ends.drop(b.end)
		s.shippedRecords.Add(float64(b.records))
		s.shippedBytes.Add(float64(b.bytes))
		s.totalRecords.Add(uint64(b.records))
		s.totalBytes.Add(uint64(b.bytes))
		b.reset()
	}
	return nil
}

// sampleEnds notes the WAL's end offset every second, to date the backlog,
// and checks that no append hangs past its budget.
func (s *Shipper) sampleEnds(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.ends.add(s.wal.EndOffset(), time.Now())
		s.health.check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status reports the shipper's state for operators.
func (s *Shipper) Status() ShipperStatus {
	mode, since, lastErr := s.health.state()
	s.mu.Lock()
	shipped, gap := s.state.Shipped, s.state.Gap != nil
	s.mu.Unlock()
	st := ShipperStatus{
		Mode: mode, ModeSince: since, LastError: lastErr,
		WALFirstOffset: s.wal.FirstOffset(), WALEndOffset: s.wal.EndOffset(), ShippedOffset: shipped,
		BacklogBytes: s.backlogAfter(shipped), DroppedBytes: s.totalDropped.Load(), GapPending: gap, CatchUpETA: -1,
	}
	if records, bytes := s.totalRecords.Load(), s.totalBytes.Load(); records > 0 && bytes > 0 {
		st.BacklogRecords = st.BacklogBytes * records / bytes
	}
	if st.BacklogBytes > 0 {
		if t, ok := s.ends.writtenAfter(shipped); ok {
			st.OldestUnshippedAge = time.Since(t).Seconds()
		}
	}
	switch {
	case st.BacklogBytes == 0:
		st.CatchUpETA = 0
	case mode != ModeDegraded && s.drain.perSecond() > 0:
		st.CatchUpETA = float64(st.BacklogBytes) / s.drain.perSecond()
	}
	if s.fault != nil {
		st.Fault = s.fault.Current()
	}
	return st
}

func (s *Shipper) failed(ctx context.Context, bo *backoff.Backoff, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	s.appendErrors.Inc()
	s.health.failed(err)
	s.logger.Warn("shipper retrying", "op", what, "err", err, "retry_in", bo.NextDelay(), "backlog_bytes", s.Backlog())
	bo.Wait()
}

func (s *Shipper) stopping(error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.persistLocked()
}

// fill reads the next batch: it waits for one record, then takes what
// arrives within Linger, up to MaxBatchBytes.
func (s *Shipper) fill(ctx context.Context, r *Reader, b *shipBatch) error {
	off, rec, err := r.Next(ctx)
	if err != nil {
		return err
	}
	if err := b.add(s.wal.NodeID(), off, rec); err != nil {
		s.logger.Warn("skip undecodable wal record", "offset", off, "err", err)
	}
	lctx, cancel := context.WithTimeout(ctx, s.cfg.Linger)
	defer cancel()
	for b.bytes < s.cfg.MaxBatchBytes {
		off, rec, err := r.Next(lctx)
		if err != nil {
			break
		}
		if err := b.add(s.wal.NodeID(), off, rec); err != nil {
			s.logger.Warn("skip undecodable wal record", "offset", off, "err", err)
		}
	}
	b.end = r.Offset()
	return nil
}

// ship appends the batch's parts, partition by partition. A retry after a
// partial failure appends some parts again; consumers drop them by their
// (origin, WAL offset).
func (s *Shipper) ship(ctx context.Context, b *shipBatch) error {
	for p, msgs := range b.parts {
		if len(msgs) == 0 {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, s.cfg.AppendTimeout)
		_, err := s.stream.Append(actx, p, msgs)
		cancel()
		if err != nil {
			return fmt.Errorf("append partition %d: %w", p, err)
		}
		b.parts[p] = nil // shipped; a retry of this batch skips it
	}
	return nil
}

// enforceCap drops the oldest unshipped segments while the backlog is over
// its cap; it reports whether it dropped anything.
func (s *Shipper) enforceCap() bool {
	if s.Backlog() <= s.cfg.MaxBacklogBytes {
		return false
	}
	end := s.wal.EndOffset()
	for _, seg := range s.wal.Segments() {
		if seg.Active || end-seg.Base <= s.cfg.MaxBacklogBytes {
			return s.dropTo(seg.Base) // whole segments go; the cap's granularity is one segment
		}
	}
	return false
}

// dropTo gives up shipping WAL records below off and remembers a gap for
// them; it reports whether there was anything to drop.
func (s *Shipper) dropTo(off uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.state.Shipped
	if off <= from {
		return false
	}
	g := record.Gap{From: from, To: off, FirstMs: -1, LastMs: -1}
	for _, seg := range s.wal.Segments() {
		switch {
		case seg.End <= from:
			g.FirstMs = seg.LastWrite.UnixMilli() // writes after it may be in the gap
		case seg.Base < off:
			g.LastMs = seg.LastWrite.UnixMilli()
		}
	}
	if s.state.Gap != nil { // an earlier gap not shipped yet: widen it
		g.From, g.FirstMs = s.state.Gap.From, s.state.Gap.FirstMs
	}
	s.state.Gap = &g
	s.droppedBytes.Add(float64(off - from))
	s.totalDropped.Add(off - from)
	s.logger.Error("shipper backlog over its cap: dropped the oldest unshipped WAL data; the long-term store will report the gap",
		"dropped_bytes", off-from, "from_offset", from, "to_offset", off, "cap_bytes", s.cfg.MaxBacklogBytes)
	s.state.Shipped = off
	if err := s.persistLocked(); err != nil {
		s.logger.Error("persist shipper state", "err", err)
	}
	return true
}

// shipGap ships a pending gap marker to every partition.
func (s *Shipper) shipGap(ctx context.Context) error {
	s.mu.Lock()
	g := s.state.Gap
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	s.health.begin()
	msg := record.AppendShipped(nil, &record.Shipped{Origin: s.wal.NodeID(), Offset: g.To, Kind: record.KindGap, Body: record.AppendGap(nil, *g)})
	for p := range s.stream.Partitions() {
		actx, cancel := context.WithTimeout(ctx, s.cfg.AppendTimeout)
		_, err := s.stream.Append(actx, p, [][]byte{msg})
		cancel()
		if err != nil {
			return fmt.Errorf("append gap to partition %d: %w", p, err)
		}
	}
	s.gapsShipped.Inc()
	s.health.succeeded(0, s.Backlog())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Gap != nil && *s.state.Gap == *g {
		s.state.Gap = nil
	}
	return s.persistLocked()
}

// advance records that everything below off is in the stream; the state file
// is written at most twice a second (a crash re-ships at most that much, and
// consumers drop the repeats).
func (s *Shipper) advance(off uint64, force bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off > s.state.Shipped {
		s.state.Shipped = off
	}
	if force || time.Since(s.persisted) >= 500*time.Millisecond {
		if err := s.persistLocked(); err != nil {
			s.logger.Error("persist shipper state", "err", err)
		}
	}
}

// starting resumes from the state file; the WAL runs by now (the shipper
// depends on it).
func (s *Shipper) starting(context.Context) error { return s.load() }

func (s *Shipper) load() error {
	raw, err := os.ReadFile(s.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		s.state.Shipped = s.wal.FirstOffset()
		return nil
	}
	if err != nil {
		return fmt.Errorf("read shipper state: %w", err)
	}
	if err := json.Unmarshal(raw, &s.state); err != nil {
		return fmt.Errorf("parse shipper state %s: %w", s.cfg.StateFile, err)
	}
	if (s.state.Origin != "" && s.state.Origin != s.wal.NodeID()) || s.state.Shipped > s.wal.EndOffset() {
		// The WAL was replaced (wiped, or a new node ID): the saved offsets
		// point into a log that is gone. Ship the new one from its start; what
		// the old one had not shipped is lost, and the long-term store's
		// coverage of the old node stops at what it applied.
		s.logger.Warn("shipper state belongs to another WAL; shipping the current WAL from its start",
			"state_origin", s.state.Origin, "wal_node_id", s.wal.NodeID(), "state_shipped", s.state.Shipped, "wal_end", s.wal.EndOffset())
		s.state = shipperState{Shipped: s.wal.FirstOffset()}
	}
	if first := s.wal.FirstOffset(); s.state.Shipped < first {
		s.state.Shipped = first // retention removed records below it (their gap, if any, is already recorded)
	}
	return nil
}

func (s *Shipper) persistLocked() error {
	s.state.Origin = s.wal.NodeID()
	raw, _ := json.Marshal(s.state)
	if err := seglog.WriteFileAtomic(s.cfg.StateFile, raw); err != nil {
		return fmt.Errorf("write shipper state: %w", err)
	}
	s.persisted = time.Now()
	return nil
}
