package fallback

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	// MaxRecordSize is the largest record Append accepts, in bytes.
	MaxRecordSize = 16 << 20

	// DefaultSegmentSize is the segment size used when WALConfig.SegmentSize is 0.
	DefaultSegmentSize = 64 << 20
	// DefaultMaxPendingBytes is the queue bound used when WALConfig.MaxPendingBytes is 0.
	DefaultMaxPendingBytes = 64 << 20

	frameHeaderSize = 8 // uint32 length + uint32 CRC-32C
	maxSpareBuffer  = 4 << 20
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
type segmentFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// WAL is a segmented, checksummed write-ahead log with group commit. It is
// safe for concurrent use.
type WAL struct {
	cfg      WALConfig
	logger   *slog.Logger
	m        *walMetrics
	nodeID   string
	lockFile *os.File
	wrapFile func(*os.File) segmentFile

	// mu guards the append queue and the lifecycle flags.
	mu      sync.Mutex
	cur     *batch        // batch being filled by Append
	spare   []byte        // recycled batch buffer
	pending int64         // bytes in cur and in the batch being written
	spaceCh chan struct{} // closed when pending bytes are released; nil when nobody waits
	closed  bool
	failErr error // sticky; wraps ErrFailed

	kick      chan struct{}   // a record was added to an empty batch
	syncReq   chan chan error // Sync requests
	stopCh    chan struct{}
	doneCh    chan struct{} // closed when the writer goroutine has exited
	closeOnce sync.Once
	closeErr  error

	// stateMu guards what readers and Segments look at.
	stateMu  sync.RWMutex
	segs     []*segment // sorted by base; the last one is active
	durable  uint64     // every record below it is fsynced; readers stop here
	notify   chan struct{}
	isClosed bool
	closedCh chan struct{}

	ackedEnd atomic.Uint64 // EndOffset: end of the acknowledged records

	// Owned by the writer goroutine.
	active     segmentFile
	activeBase uint64
	activeSize int64
	end        uint64 // end of the written bytes
	synced     uint64 // end of the fsynced bytes
	dirty      bool   // written since the last fsync
}

// batch is a group of records written with one write and, in the default
// policy, made durable with one fsync.
type batch struct {
	buf  []byte // encoded frames
	n    int    // records in buf
	done chan struct{}

	// Set by the writer before done is closed.
	base  uint64 // offset of buf[0]
	okLen int    // records at positions below okLen were acknowledged
	err   error  // the error of the records at positions okLen and above
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
	if wrapFile == nil {
		wrapFile = func(f *os.File) segmentFile { return f }
	}
	w := &WAL{
		cfg:      cfg,
		logger:   logger.With("dir", cfg.Dir),
		m:        newWALMetrics(reg),
		wrapFile: wrapFile,
		cur:      &batch{done: make(chan struct{})},
		kick:     make(chan struct{}, 1),
		syncReq:  make(chan chan error),
		stopCh:   make(chan struct{}),
		doneCh:   make(chan struct{}),
		notify:   make(chan struct{}),
		closedCh: make(chan struct{}),
	}
	if err := w.load(); err != nil {
		if w.active != nil {
			_ = w.active.Close()
		}
		if w.lockFile != nil {
			_ = w.lockFile.Close()
		}
		return nil, fmt.Errorf("open wal %s: %w", cfg.Dir, err)
	}
	w.ackedEnd.Store(w.end)
	w.m.endOffset.Set(float64(w.end))
	w.m.segments.Set(float64(len(w.segs)))
	go w.run()
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
	if len(rec) == 0 {
		return 0, ErrEmptyRecord
	}
	if len(rec) > MaxRecordSize {
		return 0, fmt.Errorf("append %d-byte record: %w", len(rec), ErrRecordTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	crc := crc32.Checksum(rec, castagnoli)
	size := int64(frameHeaderSize + len(rec))

	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return 0, ErrClosed
		}
		if w.failErr != nil {
			err := w.failErr
			w.mu.Unlock()
			return 0, err
		}
		if w.pending == 0 || w.pending+size <= w.cfg.MaxPendingBytes {
			break
		}
		if w.spaceCh == nil {
			w.spaceCh = make(chan struct{})
		}
		ch := w.spaceCh
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for wal queue space: %w", ctx.Err())
		}
		w.mu.Lock()
	}
	b := w.cur
	pos := len(b.buf)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(rec)))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, crc)
	b.buf = append(b.buf, rec...)
	b.n++
	first := b.n == 1
	w.pending += size
	w.mu.Unlock()

	if first {
		select {
		case w.kick <- struct{}{}:
		default: // the writer already has a wake-up pending
		}
	}
	// Once queued, the record's fate is decided by the writer alone: waiting
	// for it (one write and fsync) keeps the outcome definite for the caller.
	<-b.done
	if pos >= b.okLen {
		return 0, b.err
	}
	return b.base + uint64(pos), nil
}

// Sync writes every queued record and fsyncs the active segment. It is
// needed only with SyncInterval > 0.
func (w *WAL) Sync() error {
	reply := make(chan error, 1)
	select {
	case w.syncReq <- reply:
		return <-reply
	case <-w.doneCh:
		return ErrClosed
	}
}

// Err returns nil while the WAL accepts records, and the error wrapping
// ErrFailed once it has failed.
func (w *WAL) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failErr
}

// EndOffset returns the offset the next record will get once every Append in
// flight has returned: every acknowledged record has a lower offset.
func (w *WAL) EndOffset() uint64 { return w.ackedEnd.Load() }

// FirstOffset returns the offset of the oldest retained record (the base of
// the oldest segment).
func (w *WAL) FirstOffset() uint64 {
	w.stateMu.RLock()
	defer w.stateMu.RUnlock()
	return w.segs[0].base
}

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
	w.stateMu.RLock()
	defer w.stateMu.RUnlock()
	out := make([]SegmentInfo, len(w.segs))
	for i, s := range w.segs {
		out[i] = SegmentInfo{Base: s.base, End: s.base + uint64(s.size), Size: s.size, LastWrite: s.lastWrite, Active: i == len(w.segs)-1}
	}
	return out
}

// TruncateBefore deletes every closed segment all of whose records have
// offsets below offset. The active segment is never deleted, so offsets stay
// unique across restarts. Readers positioned in a deleted segment get
// ErrTruncated.
func (w *WAL) TruncateBefore(offset uint64) error {
	w.stateMu.Lock()
	if w.isClosed {
		w.stateMu.Unlock()
		return ErrClosed
	}
	k := 0
	for k < len(w.segs)-1 && w.segs[k].base+uint64(w.segs[k].size) <= offset {
		k++
	}
	removed := w.segs[:k]
	w.segs = append([]*segment(nil), w.segs[k:]...)
	w.m.segments.Set(float64(len(w.segs)))
	w.stateMu.Unlock()

	var errs []error
	for _, s := range removed {
		if err := os.Remove(segmentPath(w.cfg.Dir, s.base)); err != nil {
			errs = append(errs, fmt.Errorf("remove segment %d: %w", s.base, err))
		}
	}
	if len(removed) > 0 {
		w.logger.Debug("deleted wal segments", "count", len(removed), "before", offset)
	}
	return errors.Join(errs...)
}

// Close writes and fsyncs every queued record, stops the writer, closes the
// files and releases the directory lock. Append after Close returns
// ErrClosed. Close is idempotent; later calls return nil.
func (w *WAL) Close() error {
	var err error
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		if w.spaceCh != nil {
			close(w.spaceCh)
			w.spaceCh = nil
		}
		w.mu.Unlock()

		close(w.stopCh)
		<-w.doneCh

		w.stateMu.Lock()
		w.isClosed = true
		close(w.closedCh)
		w.stateMu.Unlock()

		err = w.closeErr
		if lerr := w.lockFile.Close(); lerr != nil {
			err = errors.Join(err, fmt.Errorf("release wal lock: %w", lerr))
		}
	})
	return err
}

// setFailed makes the WAL refuse further records.
func (w *WAL) setFailed(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failErr == nil {
		w.failErr = fmt.Errorf("%w: %w", ErrFailed, cause)
		w.logger.Error("wal failed; refusing writes until reopened", "err", cause)
	}
}
