package seglog

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
	// MaxRecordSize is the largest payload Append accepts, in bytes.
	MaxRecordSize = 16 << 20
	// FrameHeaderSize is the size of a frame header: uint32 length + uint32 CRC-32C.
	FrameHeaderSize = 8
	// CountSize is the size of the record count that starts every payload of
	// a Counted log.
	CountSize = 4

	// DefaultSegmentSize is the segment size used when Config.SegmentSize is 0.
	DefaultSegmentSize = 64 << 20
	// DefaultMaxPendingBytes is the queue bound used when Config.MaxPendingBytes is 0.
	DefaultMaxPendingBytes = 64 << 20

	// indexInterval is the file distance between two entries of a segment's
	// offset index: positioning a reader walks at most this many bytes.
	indexInterval  = 64 << 10
	maxSpareBuffer = 4 << 20
)

// seglog's sentinel errors; Config.Errors replaces ErrClosed and ErrTruncated.
var (
	// ErrClosed is returned by Append, Sync, Replay, TruncateBefore and
	// Reader.Next once the Log (or the Reader) is closed.
	ErrClosed = errors.New("log closed")
	// ErrTruncated is returned, wrapped, by Reader.Next when the reader's
	// position lies in segments that TruncateBefore has deleted.
	ErrTruncated = errors.New("log offset truncated")
	// ErrRecordTooLarge is returned, wrapped, by Append for a payload larger
	// than MaxRecordSize.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrEmptyRecord is returned by Append for an empty payload: a zeroed
	// frame header must never decode as a valid frame.
	ErrEmptyRecord = errors.New("empty record")
	// ErrFailed is returned, wrapping the cause, by every Append and Sync
	// after an fsync failed or a failed write could not be rolled back.
	ErrFailed = errors.New("log failed")
	// ErrChecksum is the cause in a *CorruptionError for a CRC mismatch.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrBadCount is the cause (wrapped) when a payload of a Counted log does
	// not start with a record count of at least 1.
	ErrBadCount = errors.New("invalid record count")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors are the sentinel errors a Log returns where its user keeps its own
// (the stream's ErrClosed and ErrOffsetOutOfRange); a nil field takes
// seglog's. The other errors are always seglog's.
type Errors struct {
	Closed    error // returned bare once the log or the reader is closed; default ErrClosed
	Truncated error // wrapped by Reader.Next when its position was deleted; default ErrTruncated
}

// File is the part of *os.File the writer uses; tests substitute it to
// inject I/O errors.
type File interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Config configures a Log.
type Config struct {
	// Dir holds the segment files; created if missing. Other files in it are
	// ignored, so a user may keep its own (a lock, an identity) beside them.
	Dir string
	// Suffix ends every segment file name; default ".seg".
	Suffix string
	// Name names the log in error messages ("wal"); default "log".
	Name string
	// SegmentSize is the size after which the active segment is closed and a
	// new one started. A segment exceeds it only to hold a single frame
	// larger than SegmentSize. Default DefaultSegmentSize.
	SegmentSize int64
	// SyncInterval selects the durability policy. 0: Append returns after the
	// frame is fsynced; concurrent appends share one fsync (group commit).
	// >0: Append returns after write(2) and the writer fsyncs every
	// SyncInterval. Readers see only fsynced frames in both.
	SyncInterval time.Duration
	// MaxPendingBytes bounds the bytes of frames queued for, or being written
	// by, the writer. Default DefaultMaxPendingBytes.
	MaxPendingBytes int64
	// Counted makes offsets count records instead of bytes: every payload
	// starts with a little-endian uint32 count (at least 1) of the records it
	// holds, and its frame takes that many offsets. Without it a frame takes
	// as many offsets as it has bytes, header included, so an offset is a
	// byte position in the whole log.
	Counted bool
	// Errors replaces seglog's sentinel errors with the user's.
	Errors Errors
	// Metrics are updated by the log; nil fields are not.
	Metrics Metrics
	// WrapFile wraps every segment file opened for writing (tests inject
	// faults with it); nil uses the *os.File.
	WrapFile func(*os.File) File
	// Now is the clock of SegmentInfo.LastWrite; default time.Now.
	Now func() time.Time
}

// Metrics are the collectors a Log updates. The user creates and registers
// them (with its own names and labels); nil fields are replaced by
// unregistered collectors.
type Metrics struct {
	Appends       prometheus.Counter  // frames acknowledged
	Bytes         prometheus.Counter  // bytes of acknowledged frames, headers included
	Fsyncs        prometheus.Counter  // fsync calls on segments
	FsyncDuration prometheus.Observer // seconds per fsync
	BatchFrames   prometheus.Observer // frames per group-commit batch
	Segments      prometheus.Gauge    // retained segments, the active one included
	EndOffset     prometheus.Gauge    // offset the next frame will get
	WriteErrors   prometheus.Counter  // failed writes, fsyncs and segment creations
	Corruptions   prometheus.Counter  // torn tails repaired at open and bad frames met by readers
	PendingBytes  prometheus.Gauge    // bytes queued when the writer last took a batch
}

func (m *Metrics) fill() {
	counter := func(c *prometheus.Counter) {
		if *c == nil {
			*c = prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
		}
	}
	gauge := func(g *prometheus.Gauge) {
		if *g == nil {
			*g = prometheus.NewGauge(prometheus.GaugeOpts{Name: "unused"})
		}
	}
	observer := func(o *prometheus.Observer) {
		if *o == nil {
			*o = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "unused"})
		}
	}
	counter(&m.Appends)
	counter(&m.Bytes)
	counter(&m.Fsyncs)
	counter(&m.WriteErrors)
	counter(&m.Corruptions)
	gauge(&m.Segments)
	gauge(&m.EndOffset)
	gauge(&m.PendingBytes)
	observer(&m.FsyncDuration)
	observer(&m.BatchFrames)
}

// Log is a segmented, checksummed, append-only log with group commit. It is
// safe for concurrent use.
type Log struct {
	cfg    Config
	errs   Errors
	logger *slog.Logger
	m      Metrics
	now    func() time.Time

	// mu guards the append queue and the lifecycle flags.
	mu      sync.Mutex
	cur     *batch        // batch being filled by Append
	spare   []byte        // recycled batch buffer
	pending int64         // bytes in cur and in the batch being written
	spaceCh chan struct{} // closed when pending bytes are released; nil when nobody waits
	closed  bool
	failErr error // sticky; wraps ErrFailed

	kick      chan struct{}   // a frame was added to an empty batch
	syncReq   chan chan error // Sync requests
	stopCh    chan struct{}
	doneCh    chan struct{} // closed when the writer goroutine has exited
	closeOnce sync.Once
	closeErr  error

	// stateMu guards what readers and Segments look at.
	stateMu     sync.RWMutex
	segs        []*segment // sorted by base; the last one is active
	durable     uint64     // every frame below it is fsynced; readers stop here
	durableSize int64      // bytes of the active segment below durable
	notify      chan struct{}
	isClosed    bool
	closedCh    chan struct{}

	indexMu sync.Mutex // serializes the building of closed segments' indexes

	ackedEnd atomic.Uint64 // EndOffset: end of the acknowledged frames

	// Owned by the writer goroutine.
	active     File
	activeBase uint64
	activeSize int64
	end        uint64 // end of the written frames
	synced     uint64 // end of the fsynced frames
	syncedSize int64  // bytes of the active segment below synced
	dirty      bool   // written since the last fsync
	pendingIdx []indexEntry
	lastIdxPos int64 // file position of the active segment's last index entry
}

// batch is a group of frames written with one write and, in the default
// policy, made durable with one fsync.
type batch struct {
	buf   []byte // encoded frames
	n     int    // frames in buf
	units uint64 // offsets the frames take
	done  chan struct{}

	// Set by the writer before done is closed.
	base    uint64 // offset of buf[0]
	okUnits uint64 // frames at relative offsets below okUnits were acknowledged
	err     error  // the error of the frames at okUnits and above
}

// Validate reports what Open would refuse in c: an empty Dir or a negative
// size or interval. Zero values take their defaults.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("empty dir")
	}
	if c.SegmentSize < 0 || c.SyncInterval < 0 || c.MaxPendingBytes < 0 {
		return fmt.Errorf("negative segment size %d, sync interval %v or max pending bytes %d",
			c.SegmentSize, c.SyncInterval, c.MaxPendingBytes)
	}
	return nil
}

// Open opens the log in cfg.Dir, creating it if needed. It repairs a torn
// tail of the last segment (see the package documentation) and starts the
// writer goroutine. logger nil discards logs. Errors name the step that
// failed; the caller adds the log's identity.
func Open(cfg Config, logger *slog.Logger) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SegmentSize == 0 {
		cfg.SegmentSize = DefaultSegmentSize
	}
	if cfg.MaxPendingBytes == 0 {
		cfg.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if cfg.Suffix == "" {
		cfg.Suffix = ".seg"
	}
	if cfg.Name == "" {
		cfg.Name = "log"
	}
	if cfg.WrapFile == nil {
		cfg.WrapFile = func(f *os.File) File { return f }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	errs := cfg.Errors
	for _, e := range []struct {
		field *error
		def   error
	}{
		{&errs.Closed, ErrClosed}, {&errs.Truncated, ErrTruncated},
	} {
		if *e.field == nil {
			*e.field = e.def
		}
	}
	l := &Log{
		cfg:      cfg,
		errs:     errs,
		logger:   logger,
		m:        cfg.Metrics,
		now:      cfg.Now,
		cur:      &batch{done: make(chan struct{})},
		kick:     make(chan struct{}, 1),
		syncReq:  make(chan chan error),
		stopCh:   make(chan struct{}),
		doneCh:   make(chan struct{}),
		notify:   make(chan struct{}),
		closedCh: make(chan struct{}),
	}
	l.m.fill()
	if err := l.load(); err != nil {
		if l.active != nil {
			_ = l.active.Close()
		}
		return nil, err
	}
	l.ackedEnd.Store(l.end)
	l.m.EndOffset.Set(float64(l.end))
	l.m.Segments.Set(float64(len(l.segs)))
	go l.run()
	return l, nil
}

// recordCount returns the record count that starts a payload of a Counted log.
func recordCount(p []byte) (uint64, error) {
	if len(p) < CountSize {
		return 0, fmt.Errorf("%d-byte payload: %w", len(p), ErrBadCount)
	}
	n := binary.LittleEndian.Uint32(p)
	if n == 0 {
		return 0, fmt.Errorf("count 0: %w", ErrBadCount)
	}
	return uint64(n), nil
}

// weight returns how many offsets a frame (header included) takes.
func (l *Log) weight(frame []byte) uint64 {
	if !l.cfg.Counted {
		return uint64(len(frame))
	}
	return uint64(binary.LittleEndian.Uint32(frame[FrameHeaderSize:]))
}

// Append adds rec as one frame and returns its offset. When it returns nil
// the frame is durable according to the sync policy; when it returns an
// error the frame is not in the log (unless the log failed: see
// ErrFailed). ctx bounds only the wait for queue space: once queued,
// Append waits for the writer's verdict (one write and one fsync). Append
// does not keep rec.
func (l *Log) Append(ctx context.Context, rec []byte) (uint64, error) {
	if len(rec) == 0 {
		return 0, ErrEmptyRecord
	}
	if len(rec) > MaxRecordSize {
		return 0, fmt.Errorf("append %d-byte record: %w", len(rec), ErrRecordTooLarge)
	}
	units := uint64(FrameHeaderSize + len(rec))
	if l.cfg.Counted {
		n, err := recordCount(rec)
		if err != nil {
			return 0, fmt.Errorf("append record: %w", err)
		}
		units = n
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	crc := crc32.Checksum(rec, castagnoli)
	size := int64(FrameHeaderSize + len(rec))

	l.mu.Lock()
	for {
		if l.closed {
			l.mu.Unlock()
			return 0, l.errs.Closed
		}
		if l.failErr != nil {
			err := l.failErr
			l.mu.Unlock()
			return 0, err
		}
		if l.pending == 0 || l.pending+size <= l.cfg.MaxPendingBytes {
			break
		}
		if l.spaceCh == nil {
			l.spaceCh = make(chan struct{})
		}
		ch := l.spaceCh
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for %s queue space: %w", l.cfg.Name, ctx.Err())
		}
		l.mu.Lock()
	}
	b := l.cur
	rel := b.units
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(rec)))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, crc)
	b.buf = append(b.buf, rec...)
	b.n++
	b.units += units
	first := b.n == 1
	l.pending += size
	l.mu.Unlock()

	if first {
		select {
		case l.kick <- struct{}{}:
		default: // the writer already has a wake-up pending
		}
	}
	// Once queued, the frame's fate is decided by the writer alone: waiting
	// for it keeps the outcome definite for the caller.
	<-b.done
	if rel >= b.okUnits {
		return 0, b.err
	}
	return b.base + rel, nil
}

// Sync writes every queued frame and fsyncs the active segment. It is
// needed only with SyncInterval > 0.
func (l *Log) Sync() error {
	reply := make(chan error, 1)
	select {
	case l.syncReq <- reply:
		return <-reply
	case <-l.doneCh:
		return l.errs.Closed
	}
}

// Err returns nil while the log accepts frames, and the error wrapping
// ErrFailed once it has failed.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failErr
}

// EndOffset returns the offset the next frame will get once every Append in
// flight has returned: every acknowledged frame has a lower offset.
func (l *Log) EndOffset() uint64 { return l.ackedEnd.Load() }

// FirstOffset returns the offset of the oldest retained frame (the base of
// the oldest segment).
func (l *Log) FirstOffset() uint64 {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	return l.segs[0].base
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Base      uint64    // offset of its first frame; the file is named after it
	End       uint64    // the offset just past its last frame
	Size      int64     // bytes in the file
	LastWrite time.Time // last write by this process, else the file's mtime at open
	Active    bool      // the segment being appended to; never deleted
}

// Segments lists the retained segments, oldest first; the last one is active.
func (l *Log) Segments() []SegmentInfo {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	out := make([]SegmentInfo, len(l.segs))
	for i, s := range l.segs {
		out[i] = SegmentInfo{Base: s.base, End: s.end, Size: s.size, LastWrite: s.lastWrite, Active: i == len(l.segs)-1}
	}
	return out
}

// TruncateBefore deletes every closed segment all of whose frames have
// offsets below offset, and returns how many it deleted. The active segment
// is never deleted, so offsets stay unique across restarts. Readers
// positioned in a deleted segment get Errors.Truncated.
func (l *Log) TruncateBefore(offset uint64) (int, error) {
	l.stateMu.Lock()
	if l.isClosed {
		l.stateMu.Unlock()
		return 0, l.errs.Closed
	}
	k := 0
	for k < len(l.segs)-1 && l.segs[k].end <= offset {
		k++
	}
	removed := l.segs[:k]
	l.segs = append([]*segment(nil), l.segs[k:]...)
	l.m.Segments.Set(float64(len(l.segs)))
	l.stateMu.Unlock()

	var errs []error
	for _, s := range removed {
		if err := os.Remove(SegmentPath(l.cfg.Dir, l.cfg.Suffix, s.base)); err != nil {
			errs = append(errs, fmt.Errorf("remove segment %d: %w", s.base, err))
		}
	}
	if len(removed) > 0 {
		l.logger.Debug("deleted segments", "count", len(removed), "before", offset)
	}
	return len(removed), errors.Join(errs...)
}

// Close writes and fsyncs every queued frame, stops the writer and closes
// the active segment. Append after Close returns Errors.Closed. Close is
// idempotent; later calls return nil.
func (l *Log) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		if l.spaceCh != nil {
			close(l.spaceCh)
			l.spaceCh = nil
		}
		l.mu.Unlock()

		close(l.stopCh)
		<-l.doneCh

		l.stateMu.Lock()
		l.isClosed = true
		close(l.closedCh)
		l.stateMu.Unlock()
		err = l.closeErr
	})
	return err
}

// setFailed makes the log refuse further frames.
func (l *Log) setFailed(cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failErr == nil {
		l.failErr = fmt.Errorf("%w: %w", ErrFailed, cause)
		l.logger.Error("log failed; refusing writes until reopened", "err", cause)
	}
}
