package fallback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/dirlock"
	"github.com/cellwatch/cellwatch/internal/seglog"
)

const (
	// MaxRecordSize is the largest record Append accepts, in bytes.
	MaxRecordSize = seglog.MaxRecordSize
	// DefaultSegmentSize is the segment size used when WALConfig.SegmentSize is 0.
	DefaultSegmentSize = seglog.DefaultSegmentSize
	// DefaultMaxPendingBytes is the queue bound used when WALConfig.MaxPendingBytes is 0.
	DefaultMaxPendingBytes = seglog.DefaultMaxPendingBytes

	segmentSuffix  = ".wal"
	nodeIDFileName = "NODE_ID"
	lockFileName   = "LOCK"
)

// The WAL's errors are internal/seglog's: these names are the same values,
// so errors.Is(err, fallback.ErrClosed) and errors.Is(err, seglog.ErrClosed)
// agree.
var (
	// ErrClosed is returned by Append, Sync, Replay, TruncateBefore and
	// Reader.Next once the WAL is stopping or stopped (or the Reader closed).
	ErrClosed = seglog.ErrClosed
	// ErrTruncated is returned, wrapped, by Reader.Next when the reader's
	// position lies in segments that TruncateBefore has deleted.
	ErrTruncated = seglog.ErrTruncated
	// ErrRecordTooLarge is returned, wrapped, by Append for a record larger
	// than MaxRecordSize.
	ErrRecordTooLarge = seglog.ErrRecordTooLarge
	// ErrEmptyRecord is returned by Append for a zero-length record: a zeroed
	// frame header must never decode as a valid record.
	ErrEmptyRecord = seglog.ErrEmptyRecord
	// ErrFailed is returned, wrapping the cause, by every Append and Sync after
	// an fsync failed or a failed write could not be rolled back. The WAL
	// accepts no more records; restart it (a new WAL on the same directory).
	ErrFailed = seglog.ErrFailed
)

type (
	// CorruptionError reports a frame that failed validation (bad length,
	// short, or CRC mismatch) below the durable end. Reader.Next returns it
	// once and continues with the next segment; Replay logs it and does the
	// same.
	CorruptionError = seglog.CorruptionError
	// Reader reads the WAL in offset order and, once at the end, waits for
	// new records; see WAL.NewReader. It is not safe for concurrent use; any
	// number of Readers may run at once.
	Reader = seglog.Reader
	// SegmentInfo describes one segment file.
	SegmentInfo = seglog.SegmentInfo
)

// WAL is the node's segmented, checksummed write-ahead log with group
// commit: internal/seglog's log in byte-offset mode (".wal" segments), plus
// the node identity, the directory lock and the cellwatch_wal_* metrics. It
// is a dskit service: NewWAL builds it, starting opens the directory
// (lock, node ID, repair of the last segment, writer goroutine), stopping
// writes and fsyncs what is queued and closes the files. Every method but
// Append must be called only while the WAL is Running (after
// services.StartAndAwaitRunning returned nil, before StopAsync); Append
// returns ErrClosed outside that time. It is safe for concurrent use.
type WAL struct {
	*services.BasicService

	logCfg   seglog.Config
	logger   *slog.Logger
	nodeID   string
	lockFile *os.File
	log      *seglog.Log
}

// NewWAL validates cfg and builds the WAL; it touches no file. reg may be
// nil; logger nil discards logs. The metrics are registered on reg, so a
// second WAL on the same registry panics. Start it with
// services.StartAndAwaitRunning and stop it with
// services.StopAndAwaitTerminated.
func NewWAL(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger) (*WAL, error) {
	return newWAL(cfg, reg, logger, nil)
}

// newWAL is NewWAL with a wrapper for the segment files (fault injection).
func newWAL(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger, wrapFile func(*os.File) seglog.File) (*WAL, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("dir", cfg.Dir)
	w := &WAL{
		logCfg: seglog.Config{
			Dir:             cfg.Dir,
			Suffix:          segmentSuffix,
			Name:            "wal",
			SegmentSize:     cfg.SegmentSize,
			SyncInterval:    cfg.SyncInterval,
			MaxPendingBytes: cfg.MaxPendingBytes,
			WrapFile:        wrapFile,
		},
		logger: logger,
	}
	if err := w.logCfg.Validate(); err != nil {
		return nil, fmt.Errorf("create wal: %w", err)
	}
	w.logCfg.Metrics = newWALMetrics(reg)
	w.BasicService = services.NewBasicService(w.starting, w.running, w.stopping).WithName("wal")
	return w, nil
}

// starting locks the directory, reads or makes the node ID and opens the
// segments (seglog repairs the last one and starts the writer).
func (w *WAL) starting(context.Context) error {
	if err := w.open(); err != nil {
		if w.lockFile != nil {
			_ = w.lockFile.Close()
		}
		return fmt.Errorf("open wal %s: %w", w.logCfg.Dir, err)
	}
	return nil
}

func (w *WAL) open() error {
	dir := w.logCfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	lf, err := dirlock.Lock(dir, lockFileName)
	if err != nil {
		return err
	}
	w.lockFile = lf
	bases, err := seglog.ListSegments(dir, segmentSuffix)
	if err != nil {
		return err
	}
	if w.nodeID, err = loadNodeID(dir, len(bases) == 0, w.logger); err != nil {
		return err
	}
	w.log, err = seglog.Open(w.logCfg, w.logger)
	return err
}

func (w *WAL) running(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// stopping writes and fsyncs every queued record, stops the writer, closes
// the files and releases the directory lock. Appends racing with it either
// are acknowledged before the files close or get ErrClosed.
func (w *WAL) stopping(error) error {
	err := w.log.Close()
	if lerr := w.lockFile.Close(); lerr != nil {
		err = errors.Join(err, fmt.Errorf("release wal lock: %w", lerr))
	}
	return err
}

// NodeID returns the identity of this WAL, generated on first start and
// kept in the file NODE_ID. (NodeID, offset) identifies a record.
func (w *WAL) NodeID() string { return w.nodeID }

// Append adds rec to the log and returns its offset. When it returns nil the
// record is durable according to the sync policy; when it returns an error
// the record is not in the log (unless the WAL failed: see ErrFailed).
// Before the WAL is Running and once StopAsync was called it returns
// ErrClosed. ctx bounds only the wait for queue space (MaxPendingBytes):
// once the record is queued, Append waits for the writer's verdict, which
// takes one write and one fsync. Append does not keep rec.
func (w *WAL) Append(ctx context.Context, rec []byte) (uint64, error) {
	if sctx := w.ServiceContext(); w.State() != services.Running || sctx == nil || sctx.Err() != nil {
		return 0, ErrClosed
	}
	return w.log.Append(ctx, rec)
}

// Sync writes every queued record and fsyncs the active segment. It is
// needed only with SyncInterval > 0.
func (w *WAL) Sync() error { return w.log.Sync() }

// Err returns nil while the WAL accepts records, and the error wrapping
// ErrFailed once it has failed.
func (w *WAL) Err() error { return w.log.Err() }

// EndOffset returns the offset the next record will get once every Append in
// flight has returned: every acknowledged record has a lower offset.
func (w *WAL) EndOffset() uint64 { return w.log.EndOffset() }

// FirstOffset returns the offset of the oldest retained record (the base of
// the oldest segment).
func (w *WAL) FirstOffset() uint64 { return w.log.FirstOffset() }

// Segments lists the retained segments, oldest first; the last one is active.
func (w *WAL) Segments() []SegmentInfo { return w.log.Segments() }

// TruncateBefore deletes every closed segment all of whose records have
// offsets below offset. The active segment is never deleted, so offsets stay
// unique across restarts. Readers positioned in a deleted segment get
// ErrTruncated.
func (w *WAL) TruncateBefore(offset uint64) error {
	_, err := w.log.TruncateBefore(offset)
	return err
}

// NewReader returns a reader that starts at the first record with offset >=
// from. from need not be a record offset; it usually is the end of the last
// record a caller handled. The reader sees a record once it is fsynced (in
// both sync policies), so an offset it has seen survives an OS crash and is
// never reused. Its Next returns ctx's error, ErrClosed, an error wrapping
// ErrTruncated, a *CorruptionError (then continues at the next segment), or
// an I/O error (Next may be retried).
func (w *WAL) NewReader(from uint64) *Reader { return w.log.NewReader(from) }

// Replay calls fn for every retained record with offset >= from, in order, up
// to the durable end at call time (with SyncInterval 0 that is EndOffset).
// A corrupt frame is logged and the rest of its segment skipped. fn may keep
// rec. Replay returns fn's first error, ctx's error, or a read error.
func (w *WAL) Replay(ctx context.Context, from uint64, fn func(offset uint64, rec []byte) error) error {
	return w.log.Replay(ctx, from, fn)
}
