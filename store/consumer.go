package store

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/grafana/dskit/backoff"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// StreamMessage is one record of a stream partition with its offset.
type StreamMessage struct {
	Offset int64
	Value  []byte
}

// PartitionSource is the stream as the consumer reads it (cmd adapts the
// stream's Log to it).
type PartitionSource interface {
	// Partitions is the fixed number of partitions, numbered from 0.
	Partitions() int
	// Fetch returns records of p from offset on, at most maxBytes of values
	// (at least one record when one exists). It may wait, until ctx is done,
	// when offset is the end of the partition.
	Fetch(ctx context.Context, p int, offset int64, maxBytes int) ([]StreamMessage, error)
	// Bounds returns the oldest retained offset and the end offset of p.
	Bounds(ctx context.Context, p int) (oldest, end int64, err error)
}

// Ownership is which partitions this node consumes, as the cluster decides
// (cmd adapts the cluster's ring to it).
type Ownership interface {
	// Owned is the partitions, of n, this node owns now.
	Owned(n int) []int
	// Changes receives a value whenever Owned may have changed; notices
	// coalesce. A closed channel means no more changes.
	Changes() <-chan struct{}
}

// Defaults of ConsumerConfig.
const (
	DefaultConsumerMaxFetchBytes = 4 << 20
	DefaultConsumerIdleWait      = 250 * time.Millisecond
)

// ConsumerConfig configures a Consumer. Zero fields take the defaults.
type ConsumerConfig struct {
	// Partitions to consume; nil means every partition of the source.
	Partitions []int
	// Ownership, when set, decides the partitions instead (cluster mode):
	// the consumer reads what it owns and re-reads it on every change.
	Ownership Ownership
	// MaxFetchBytes bounds one Fetch (default 4 MiB); one Fetch is one
	// ApplyBatch.
	MaxFetchBytes int
	// Backoff after a failed Fetch or ApplyBatch (default 100ms to 10s,
	// retrying forever; MaxRetries is ignored).
	Backoff backoff.Config
	// IdleWait is the pause after a Fetch that returned nothing without
	// waiting (default 250ms), so a source that does not block is not spun
	// on.
	IdleWait time.Duration
}

// Consumer reads stream partitions into a LongTerm store, one loop per
// partition, from the offset stored with the data (the stream's committed
// offsets are not used). It is a dskit service.
//
// Each loop: Fetch from NextOffset, decode the envelopes, ApplyBatch. On an
// error it backs off and retries the same offset. After a failed Fetch it
// asks the source for the partition's bounds: an offset below the oldest
// (the stream's retention removed messages before they were applied) is
// recorded as a stream gap and reading resumes at the oldest; an offset past
// the end (the stream was replaced) resumes at the oldest without a gap, the
// marks dropping what was applied before. A message whose envelope does not
// decode is recorded as a stream gap of its one offset.
type Consumer struct {
	services.Service

	lt  *LongTerm
	src PartitionSource
	cfg ConsumerConfig
	log *slog.Logger

	fetchErrors, applyErrors, skippedOffsets, resets prometheus.Counter
	owned                                            prometheus.Gauge
}

// NewConsumer returns a consumer of src into lt. reg may be nil; a nil
// logger discards.
func NewConsumer(lt *LongTerm, src PartitionSource, cfg ConsumerConfig, reg prometheus.Registerer, logger *slog.Logger) *Consumer {
	if cfg.MaxFetchBytes <= 0 {
		cfg.MaxFetchBytes = DefaultConsumerMaxFetchBytes
	}
	if cfg.Backoff.MinBackoff <= 0 {
		cfg.Backoff.MinBackoff = 100 * time.Millisecond
	}
	if cfg.Backoff.MaxBackoff <= 0 {
		cfg.Backoff.MaxBackoff = 10 * time.Second
	}
	cfg.Backoff.MaxRetries = 0
	if cfg.IdleWait <= 0 {
		cfg.IdleWait = DefaultConsumerIdleWait
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Consumer{lt: lt, src: src, cfg: cfg, log: logger}
	f := promauto.With(reg)
	c.fetchErrors = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_consumer_fetch_errors_total",
		Help: "Failed fetches from the stream (retried after a backoff).",
	})
	c.applyErrors = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_consumer_apply_errors_total",
		Help: "Failed long-term store batches (retried after a backoff).",
	})
	c.skippedOffsets = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_consumer_skipped_offsets_total",
		Help: "Stream offsets never applied: removed by the stream before they were read, or undecodable (recorded as gaps).",
	})
	c.resets = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_consumer_offset_resets_total",
		Help: "Times a partition's stored offset was past the stream's end and reading restarted at its oldest offset.",
	})
	c.owned = f.NewGauge(prometheus.GaugeOpts{
		Name: "cellwatch_longterm_consumer_partitions_owned",
		Help: "Stream partitions this node consumes into its long-term store (cluster mode: as its ring ownership says; 0 when not following a ring).",
	})
	c.Service = services.NewBasicService(nil, c.running, nil)
	return c
}

func (c *Consumer) running(ctx context.Context) error {
	if c.cfg.Ownership != nil {
		return c.follow(ctx, c.cfg.Ownership)
	}
	parts := c.cfg.Partitions
	if parts == nil {
		for p := range c.src.Partitions() {
			parts = append(parts, p)
		}
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() { c.consume(ctx, p) })
	}
	wg.Wait()
	return nil
}

// follow consumes the partitions own says are this node's, starting a loop
// for each partition it gains and stopping the loop of each it loses. A
// lost partition's loop ends (its batch in flight applied or not, never
// half) before the partition can be started again, so one partition never
// has two loops.
func (c *Consumer) follow(ctx context.Context, own Ownership) error {
	type loop struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	loops := map[int]loop{}
	stop := func(p int) {
		l := loops[p]
		l.cancel()
		<-l.done
		delete(loops, p)
	}
	defer func() {
		for p := range loops {
			stop(p)
		}
		c.owned.Set(0)
	}()
	changes := own.Changes()
	for {
		want := map[int]bool{}
		for _, p := range own.Owned(c.src.Partitions()) {
			want[p] = true
		}
		for p := range loops {
			if !want[p] {
				stop(p)
				c.log.Info("long-term consumer: partition released", "partition", p)
			}
		}
		for p := range want {
			if _, ok := loops[p]; ok {
				continue
			}
			lctx, cancel := context.WithCancel(ctx)
			l := loop{cancel: cancel, done: make(chan struct{})}
			loops[p] = l
			go func() {
				defer close(l.done)
				c.consume(lctx, p)
			}()
			c.log.Info("long-term consumer: partition taken", "partition", p, "next_offset", c.lt.NextOffset(p))
		}
		c.owned.Set(float64(len(loops)))
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-changes:
			if !ok {
				changes = nil // no more changes: keep what is owned until stopped
			}
		}
	}
}

// consume is the loop of partition p; it returns when ctx is done.
func (c *Consumer) consume(ctx context.Context, p int) {
	bo := backoff.New(ctx, c.cfg.Backoff)
	var batch []Message
	for ctx.Err() == nil {
		off, err := c.lt.nextOffset(p)
		if err != nil {
			c.applyErrors.Inc()
			c.log.Error("long-term consumer: read next offset", "partition", p, "err", err)
			bo.Wait()
			continue
		}
		msgs, err := c.src.Fetch(ctx, p, off, c.cfg.MaxFetchBytes)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.fetchErrors.Inc()
			if c.outOfRange(ctx, p, off) {
				bo.Reset()
				continue
			}
			c.log.Warn("long-term consumer: fetch failed, backing off", "partition", p, "offset", off, "err", err)
			bo.Wait()
			continue
		}
		if len(msgs) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(c.cfg.IdleWait):
			}
			continue
		}
		batch, err = c.apply(p, msgs, batch[:0])
		if err != nil {
			c.applyErrors.Inc()
			c.log.Error("long-term consumer: apply failed, backing off", "partition", p, "offset", off, "err", err)
			bo.Wait()
			continue
		}
		bo.Reset()
	}
}

// apply decodes msgs into batch and applies them; an envelope that does not
// decode splits the batch and is skipped as a stream gap. It returns batch
// for reuse.
func (c *Consumer) apply(p int, msgs []StreamMessage, batch []Message) ([]Message, error) {
	for _, sm := range msgs {
		m, err := DecodeMessage(sm.Offset, sm.Value)
		if err == nil {
			batch = append(batch, m)
			continue
		}
		c.log.Error("long-term consumer: undecodable message, recorded as a gap", "partition", p, "offset", sm.Offset, "err", err)
		if err := c.lt.ApplyBatch(p, batch); err != nil {
			return batch, err
		}
		batch = batch[:0]
		if err := c.lt.SkipStream(p, sm.Offset, sm.Offset+1); err != nil {
			return batch, err
		}
		c.skippedOffsets.Inc()
	}
	err := c.lt.ApplyBatch(p, batch)
	clear(batch) // do not keep fetched bytes alive
	return batch, err
}

// outOfRange checks, after a failed Fetch at off, whether off is outside the
// partition's retained offsets, and if so moves the partition's offset (see
// Consumer). It reports whether it did.
func (c *Consumer) outOfRange(ctx context.Context, p int, off int64) bool {
	oldest, end, err := c.src.Bounds(ctx, p)
	if err != nil {
		return false
	}
	switch {
	case off < oldest:
		if err := c.lt.SkipStream(p, off, oldest); err != nil {
			c.log.Error("long-term consumer: record skipped offsets", "partition", p, "err", err)
			return false
		}
		c.skippedOffsets.Add(float64(oldest - off))
		c.log.Error("long-term consumer: the stream dropped offsets before they were applied; recorded as a gap",
			"partition", p, "from", off, "to", oldest)
		return true
	case off > end:
		if err := c.lt.SetNextOffset(p, oldest); err != nil {
			c.log.Error("long-term consumer: reset offset", "partition", p, "err", err)
			return false
		}
		c.resets.Inc()
		c.log.Error("long-term consumer: stored offset is past the stream's end (a new stream?); rereading from its oldest offset, applied messages are dropped by their marks",
			"partition", p, "offset", off, "oldest", oldest, "end", end)
		return true
	}
	return false
}
