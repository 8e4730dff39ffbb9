package stream

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/dirlock"
	"github.com/cellwatch/cellwatch/internal/seglog"
)

const (
	// DefaultPartitions is the partition count of a new stream when
	// EmbeddedConfig.Partitions is 0.
	DefaultPartitions = 8
	// DefaultRetentionAge is used when EmbeddedConfig.RetentionAge is 0.
	DefaultRetentionAge = 7 * 24 * time.Hour
	// DefaultRetentionBytes is used when EmbeddedConfig.RetentionBytes is 0.
	DefaultRetentionBytes = 1 << 30
	// MaxPartitions bounds EmbeddedConfig.Partitions.
	MaxPartitions = 1024

	metaFileName      = "stream.json"
	lockFileName      = "LOCK"
	segmentSuffix     = ".log"
	retentionInterval = time.Minute
	maxPooledBatch    = 4 << 20
)

// EmbeddedConfig configures the embedded stream. The fields with a yaml
// key are settings of the node (RegisterFlags); the others are set by the
// code that builds the stream.
type EmbeddedConfig struct {
	// Dir holds the stream: stream.json, LOCK, one directory per partition
	// (p-0000, p-0001, …) and groups/ with the committed offsets.
	Dir string `yaml:"-"`
	// Partitions is the partition count. It is written to stream.json on
	// first open and can never change: reopening with another non-zero
	// count is an error. 0 takes the stored count, or DefaultPartitions for
	// a new stream.
	Partitions int `yaml:"partitions"`
	// SegmentSize is the size of a partition's segment files; retention
	// deletes whole segments. Default seglog.DefaultSegmentSize (64 MiB).
	SegmentSize int64 `yaml:"-"`
	// RetentionAge: closed segments last written longer ago are deleted.
	// Default DefaultRetentionAge.
	RetentionAge time.Duration `yaml:"retention"`
	// RetentionBytes bounds each partition's size: the oldest closed
	// segments are deleted while it is exceeded. Default DefaultRetentionBytes.
	RetentionBytes int64 `yaml:"retention_bytes"`
	// SyncInterval 0: Append returns once the batch is fsynced; concurrent
	// appends to a partition share one fsync (group commit). >0: Append
	// returns after write(2) and each partition is fsynced every
	// SyncInterval. Fetch sees records once fsynced in both.
	SyncInterval time.Duration `yaml:"-"`
}

// RegisterFlags binds the node's stream settings to flags on fs.
func (c *EmbeddedConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Partitions, "stream.partitions", DefaultPartitions, "partitions of the stream, fixed when it is created (embedded: on first start; kafka: the topic's)")
	fs.DurationVar(&c.RetentionAge, "stream.retention", DefaultRetentionAge, "how long the embedded stream keeps records")
	fs.Int64Var(&c.RetentionBytes, "stream.retention-bytes", DefaultRetentionBytes, "bytes the embedded stream keeps per partition")
}

// Validate checks the node's settings (NewEmbedded also takes zero values,
// which mean the defaults or the stored partition count).
func (c *EmbeddedConfig) Validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > MaxPartitions:
		return fmt.Errorf("-stream.partitions %d must be between 1 and %d", c.Partitions, MaxPartitions)
	case c.RetentionAge < 0 || c.RetentionBytes < 0:
		return fmt.Errorf("-stream.retention %s and -stream.retention-bytes %d must not be negative", c.RetentionAge, c.RetentionBytes)
	}
	return nil
}

// Embedded is the on-disk Log of the all-in-one binary. It is safe for
// concurrent use. See the package documentation for the layout.
//
// Embedded is a dskit service: starting locks the directory, checks the
// partition count, repairs a torn tail in every partition and loads the
// committed offsets; running enforces retention every minute; stopping
// writes and fsyncs what is queued, closes the partitions and releases the
// directory. The Log methods answer ErrClosed before it runs and once it
// stops, blocked Fetches included.
type Embedded struct {
	services.Service

	cfg     EmbeddedConfig
	logger  *slog.Logger
	now     func() time.Time
	m       *embeddedMetrics
	lock    *os.File
	parts   []*partition
	offsets *offsetStore

	open atomic.Bool // between starting and stopping
}

// partition is one partition: a Counted segment log, so that its offsets
// are record indexes.
type partition struct {
	id              int
	log             *seglog.Log
	appendedRecords prometheus.Counter
	appendedBytes   prometheus.Counter
	fetches         prometheus.Counter
	fetchedRecords  prometheus.Counter
	oldest          prometheus.Gauge
}

var _ Log = (*Embedded)(nil)

// batchPool recycles the buffers batches are encoded into.
var batchPool = sync.Pool{New: func() any { return new([]byte) }}

// NewEmbedded builds the stream of cfg.Dir; it opens nothing until the
// service starts. reg may be nil; logger nil discards logs.
func NewEmbedded(cfg EmbeddedConfig, reg prometheus.Registerer, logger *slog.Logger) (*Embedded, error) {
	return newEmbedded(cfg, reg, logger, time.Now)
}

func newEmbedded(cfg EmbeddedConfig, reg prometheus.Registerer, logger *slog.Logger, now func() time.Time) (*Embedded, error) {
	switch {
	case cfg.Dir == "":
		return nil, errors.New("stream dir is empty")
	case cfg.Partitions < 0 || cfg.Partitions > MaxPartitions || cfg.SegmentSize < 0 || cfg.RetentionAge < 0 || cfg.RetentionBytes < 0 || cfg.SyncInterval < 0:
		return nil, fmt.Errorf("stream %s: value out of range in %+v", cfg.Dir, cfg)
	}
	if cfg.RetentionAge == 0 {
		cfg.RetentionAge = DefaultRetentionAge
	}
	if cfg.RetentionBytes == 0 {
		cfg.RetentionBytes = DefaultRetentionBytes
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Embedded{
		cfg:    cfg,
		logger: logger.With("dir", cfg.Dir),
		now:    now,
		m:      newEmbeddedMetrics(reg),
	}
	e.Service = services.NewTimerService(retentionInterval, e.starting, e.enforceRetention, e.stopping)
	return e, nil
}

func (e *Embedded) starting(context.Context) error {
	if err := e.load(); err != nil {
		return errors.Join(fmt.Errorf("open stream %s: %w", e.cfg.Dir, err), e.release())
	}
	e.open.Store(true)
	return nil
}

// enforceRetention is the service's timer iteration: a failure is logged and
// retried on the next tick.
func (e *Embedded) enforceRetention(context.Context) error {
	if err := e.EnforceRetention(); err != nil && !errors.Is(err, ErrClosed) {
		e.logger.Warn("enforce stream retention", "err", err)
	}
	return nil
}

func (e *Embedded) stopping(error) error {
	e.open.Store(false)
	return e.release()
}

// load locks the directory, reads or writes stream.json, opens the
// partitions and reads the committed offsets.
func (e *Embedded) load() error {
	dir := e.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	lf, err := dirlock.Lock(dir, lockFileName)
	if err != nil {
		return err
	}
	e.lock = lf
	n, err := loadMeta(dir, e.cfg.Partitions)
	if err != nil {
		return err
	}
	e.cfg.Partitions = n
	for p := range n {
		l, err := seglog.Open(seglog.Config{
			Dir:          filepath.Join(dir, fmt.Sprintf("p-%04d", p)),
			Suffix:       segmentSuffix,
			Name:         "partition " + strconv.Itoa(p),
			SegmentSize:  e.cfg.SegmentSize,
			SyncInterval: e.cfg.SyncInterval,
			Counted:      true,
			Errors:       seglog.Errors{Closed: ErrClosed, Truncated: ErrOffsetOutOfRange},
			Metrics:      e.m.seglog(p),
			Now:          e.now,
		}, e.logger.With("partition", p))
		if err != nil {
			return fmt.Errorf("open partition %d: %w", p, err)
		}
		lv := strconv.Itoa(p)
		part := &partition{
			id:              p,
			log:             l,
			appendedRecords: e.m.appendedRecords.WithLabelValues(lv),
			appendedBytes:   e.m.appendedBytes.WithLabelValues(lv),
			fetches:         e.m.fetches.WithLabelValues(lv),
			fetchedRecords:  e.m.fetchedRecords.WithLabelValues(lv),
			oldest:          e.m.oldestOffset.WithLabelValues(lv),
		}
		part.oldest.Set(float64(l.FirstOffset()))
		e.parts = append(e.parts, part)
	}
	e.offsets, err = loadOffsets(filepath.Join(dir, groupsDirName), n)
	return err
}

// meta is the content of stream.json.
type meta struct {
	Partitions int `json:"partitions"`
}

// loadMeta returns the stream's partition count, writing stream.json on
// first open. want is the configured count (0: any).
func loadMeta(dir string, want int) (int, error) {
	path := filepath.Join(dir, metaFileName)
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var m meta
		if err := json.Unmarshal(raw, &m); err != nil {
			return 0, fmt.Errorf("parse %s: %w", path, err)
		}
		if m.Partitions < 1 {
			return 0, fmt.Errorf("parse %s: %d partitions", path, m.Partitions)
		}
		if want != 0 && want != m.Partitions {
			return 0, fmt.Errorf("the stream has %d partitions (%s) but the config asks for %d: "+
				"the partition count of a stream cannot change; configure %d partitions or use a new directory",
				m.Partitions, path, want, m.Partitions)
		}
		return m.Partitions, nil
	case !errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	// stream.json is written before any partition directory, so partitions
	// without it mean it was deleted: their count is unknown.
	if found, _ := filepath.Glob(filepath.Join(dir, "p-*")); len(found) > 0 {
		return 0, fmt.Errorf("%s is missing but %d partition directories exist; restore it rather than guess the partition count", path, len(found))
	}
	if want == 0 {
		want = DefaultPartitions
	}
	raw, _ = json.Marshal(meta{Partitions: want})
	if err := seglog.WriteFileAtomic(path, append(raw, '\n')); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return want, nil
}

// Partitions returns the fixed number of partitions.
func (e *Embedded) Partitions() int { return e.cfg.Partitions }

func (e *Embedded) partition(p int) (*partition, error) {
	if !e.open.Load() {
		return nil, ErrClosed
	}
	if p < 0 || p >= len(e.parts) {
		return nil, fmt.Errorf("partition %d out of range: the stream has %d", p, len(e.parts))
	}
	return e.parts[p], nil
}

// Append appends records to partition p as one frame, so the batch is
// atomic: after a crash it is wholly there or wholly gone. It returns the
// offset of the first record; the others follow densely. With SyncInterval
// 0 it returns once the batch is fsynced. ctx bounds only the wait for the
// writer's queue. Records may be empty; a batch takes at most 16 MiB
// encoded. Append does not keep records.
func (e *Embedded) Append(ctx context.Context, p int, records [][]byte) (int64, error) {
	part, err := e.partition(p)
	if err != nil {
		return 0, err
	}
	bufp := batchPool.Get().(*[]byte)
	payload, err := encodeBatch((*bufp)[:0], records)
	var off uint64
	if err == nil {
		off, err = part.log.Append(ctx, payload)
	}
	if cap(payload) <= maxPooledBatch {
		*bufp = payload
		batchPool.Put(bufp)
	}
	if err != nil {
		return 0, fmt.Errorf("append %d records to partition %d: %w", len(records), p, err)
	}
	n := 0
	for _, r := range records {
		n += len(r)
	}
	part.appendedRecords.Add(float64(len(records)))
	part.appendedBytes.Add(float64(n))
	return int64(off), nil
}

// Fetch returns records of p from offset on, at most maxBytes of values but
// at least one record, waiting (until ctx is done or the stream closes) when
// offset is the end of the partition. Offsets below the oldest retained or
// past the end are ErrOffsetOutOfRange. A corrupt frame (bit rot) is logged
// and skipped with the rest of its segment, so offsets may jump.
func (e *Embedded) Fetch(ctx context.Context, p int, offset int64, maxBytes int) ([]Message, error) {
	part, err := e.partition(p)
	if err != nil {
		return nil, err
	}
	if first, end := int64(part.log.FirstOffset()), int64(part.log.EndOffset()); offset < first || offset > end {
		return nil, fmt.Errorf("fetch partition %d at offset %d (retained %d to %d): %w", p, offset, first, end, ErrOffsetOutOfRange)
	}
	r := part.log.NewReaderAt(uint64(offset))
	defer r.Close()
	var (
		msgs  []Message
		bytes int
	)
	for {
		var (
			off uint64
			rec []byte
			ok  = true
		)
		if len(msgs) == 0 {
			off, rec, err = r.Next(ctx)
		} else {
			off, rec, ok, err = r.TryNext(ctx)
		}
		var cerr *seglog.CorruptionError
		if errors.As(err, &cerr) {
			e.logger.Warn("skipping rest of corrupt stream segment", "partition", p, "segment", cerr.Segment, "offset", cerr.Offset, "err", cerr.Err)
			continue
		}
		if err == nil && ok {
			var full bool
			msgs, full, err = decodeBatch(msgs, rec, int64(off), offset, &bytes, maxBytes)
			if err == nil && !full {
				continue
			}
		}
		if err != nil && len(msgs) == 0 {
			return nil, fmt.Errorf("fetch partition %d at offset %d: %w", p, offset, err)
		}
		break // what was read stands; a later error shows on the next Fetch
	}
	part.fetches.Inc()
	part.fetchedRecords.Add(float64(len(msgs)))
	return msgs, nil
}

// Bounds returns the oldest retained offset and the end offset of p.
func (e *Embedded) Bounds(_ context.Context, p int) (oldest, end int64, err error) {
	part, err := e.partition(p)
	if err != nil {
		return 0, 0, err
	}
	return int64(part.log.FirstOffset()), int64(part.log.EndOffset()), nil
}

// Commit stores group's committed offset for p, durably (one file per
// group, replaced atomically) when it returns nil.
func (e *Embedded) Commit(ctx context.Context, group string, p int, offset int64) error {
	if _, err := e.partition(p); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.offsets.commit(group, p, offset); err != nil {
		return fmt.Errorf("commit partition %d: %w", p, err)
	}
	return nil
}

// Committed returns group's committed offset for p, 0 when none.
func (e *Embedded) Committed(_ context.Context, group string, p int) (int64, error) {
	if _, err := e.partition(p); err != nil {
		return 0, err
	}
	return e.offsets.committed(group, p)
}

// release closes the partitions and the lock of a loaded or half-loaded
// stream.
func (e *Embedded) release() error {
	var errs []error
	for _, part := range e.parts {
		if err := part.log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close partition %d: %w", part.id, err))
		}
	}
	if e.lock != nil {
		if err := e.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("release stream lock: %w", err))
		}
	}
	return errors.Join(errs...)
}
