package fallback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

const (
	// MaxRecordSize is the largest record Append accepts, in bytes.
	MaxRecordSize = seglog.MaxRecordSize

	// DefaultSegmentSize is the segment size used when WALConfig.SegmentSize is 0.
	DefaultSegmentSize = 64 << 20
	// DefaultMaxPendingBytes is the queue bound used when WALConfig.MaxPendingBytes is 0.
	DefaultMaxPendingBytes = 64 << 20

	frameHeaderSize = seglog.FrameHeaderSize // uint32 length + uint32 CRC-32C
)

var (
	// ErrClosed is returned by Append, Sync, Replay, TruncateBefore and
	// Reader.Next once the WAL (or the Reader) is closed.
	ErrClosed = errors.New("wal closed")
	// ErrTruncated is returned, wrapped, by Reader.Next when the reader's
	// position lies in segments that TruncateBefore has deleted.
	ErrTruncated = errors.New("wal offset truncated")
	// ErrRecordTooLarge is returned, wrapped, by Append for a record larger
	// than MaxRecordSize.
	ErrRecordTooLarge = errors.New("wal record too large")
	// ErrEmptyRecord is returned by Append for a zero-length record: a zeroed
	// frame header must never decode as a valid record.
	ErrEmptyRecord = errors.New("empty wal record")
	// ErrFailed is returned, wrapping the cause, by every Append and Sync after
	// an fsync failed or a failed write could not be rolled back. The WAL
	// accepts no more records; reopen it (restart the process).
	ErrFailed = errors.New("wal failed")
)

// WALConfig configures the write-ahead log.
type WALConfig struct {
	// Dir holds the segments, NODE_ID and LOCK; created if missing.
	Dir string
	// SegmentSize is the size after which the active segment is closed and a
	// new one started. A segment exceeds it only to hold a single record
	// larger than SegmentSize. Default DefaultSegmentSize.
	SegmentSize int64
	// SyncInterval selects the durability policy. 0 (default): Append returns
	// after the record is fsynced; concurrent appends share one fsync (group
	// commit). >0: Append returns after write(2); the writer fsyncs every
	// SyncInterval, so an OS crash may lose up to SyncInterval of
	// acknowledged records (a process crash loses nothing).
	SyncInterval time.Duration
	// MaxPendingBytes bounds the bytes of records queued for, or being
	// written by, the writer. Append waits (respecting its context) while the
	// bound is exceeded. Default DefaultMaxPendingBytes.
	MaxPendingBytes int64
}

// segmentFile is the part of *os.File the writer uses; tests substitute it to
// inject I/O errors.
type segmentFile = seglog.File

// WAL is a segmented, checksummed write-ahead log with group commit. It is
// safe for concurrent use. The files, frames, writer, readers and truncation
// are internal/seglog's (byte offsets, ".wal" segments); the WAL adds the
// node identity, the directory lock, its errors and its metrics.
type WAL struct {
	cfg      WALConfig
	logger   *slog.Logger
	m        *walMetrics
	nodeID   string
	lockFile *os.File
	log      *seglog.Log

	closeOnce sync.Once
}

// OpenWAL opens the WAL in cfg.Dir, creating it if needed. It repairs a torn
// tail of the last segment (see the package documentation) and starts the
// writer goroutine. reg may be nil; logger nil discards logs. The metrics are
// registered on reg, so a second WAL on the same registry panics.
func OpenWAL(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger) (*WAL, error) {
	return openWAL(cfg, reg, logger, nil)
}

func openWAL(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger, wrapFile func(*os.File) segmentFile) (*WAL, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open wal: empty dir")
	}
	if cfg.SegmentSize < 0 || cfg.SyncInterval < 0 || cfg.MaxPendingBytes < 0 {
		return nil, fmt.Errorf("open wal: negative segment size %d, sync interval %v or max pending bytes %d",
			cfg.SegmentSize, cfg.SyncInterval, cfg.MaxPendingBytes)
	}
	if cfg.SegmentSize == 0 {
		cfg.SegmentSize = DefaultSegmentSize
	}
	if cfg.MaxPendingBytes == 0 {
		cfg.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &WAL{
		cfg:    cfg,
		logger: logger.With("dir", cfg.Dir),
		m:      newWALMetrics(reg),
	}
	if err := w.load(wrapFile); err != nil {
		if w.lockFile != nil {
			_ = w.lockFile.Close()
		}
		return nil, fmt.Errorf("open wal %s: %w", cfg.Dir, err)
	}
	return w, nil
}

// NodeID returns the identity of this WAL, generated on first open and kept
// in the file NODE_ID. (NodeID, offset) identifies a record.
func (w *WAL) NodeID() string { return w.nodeID }

// Append adds rec to the log and returns its offset. When it returns nil the
// record is durable according to the sync policy; when it returns an error
// the record is not in the log (unless the WAL failed: see ErrFailed). ctx
// bounds only the wait for queue space (MaxPendingBytes): once the record is
// queued, Append waits for the writer's verdict, which takes one write and
// one fsync. Append does not keep rec.
func (w *WAL) Append(ctx context.Context, rec []byte) (uint64, error) {
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

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Base      uint64    // offset of its first byte; the file is named after it
	End       uint64    // Base + Size: the offset just past its last record
	Size      int64     // bytes in the file
	LastWrite time.Time // last write by this process, else the file's mtime at open
	Active    bool      // the segment being appended to; never deleted
}

// Segments lists the retained segments, oldest first; the last one is active.
func (w *WAL) Segments() []SegmentInfo {
	segs := w.log.Segments()
	out := make([]SegmentInfo, len(segs))
	for i, s := range segs {
		out[i] = SegmentInfo(s)
	}
	return out
}

// TruncateBefore deletes every closed segment all of whose records have
// offsets below offset. The active segment is never deleted, so offsets stay
// unique across restarts. Readers positioned in a deleted segment get
// ErrTruncated.
func (w *WAL) TruncateBefore(offset uint64) error {
	_, err := w.log.TruncateBefore(offset)
	return err
}

// Close writes and fsyncs every queued record, stops the writer, closes the
// files and releases the directory lock. Append after Close returns
// ErrClosed. Close is idempotent; later calls return nil.
func (w *WAL) Close() error {
	var err error
	w.closeOnce.Do(func() {
		err = w.log.Close()
		if lerr := w.lockFile.Close(); lerr != nil {
			err = errors.Join(err, fmt.Errorf("release wal lock: %w", lerr))
		}
	})
	return err
}
