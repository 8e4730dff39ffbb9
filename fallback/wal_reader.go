package fallback

import (
	"context"
	"errors"
	"fmt"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// CorruptionError reports a frame that failed validation (bad length, short,
// or CRC mismatch) in a segment below the durable end. Reader.Next returns it
// once and then continues with the next segment: the rest of the corrupt
// segment is skipped. Replay logs it and continues the same way.
type CorruptionError struct {
	Segment uint64 // base offset of the segment
	Offset  uint64 // offset of the bad frame
	Err     error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupt wal segment %d at offset %d: %v", e.Segment, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Reader reads the WAL in offset order and, once at the end, waits for new
// records. It sees a record once it is fsynced (in both sync policies), so an
// offset a reader has seen survives an OS crash and is never reused. A Reader
// is not safe for concurrent use; any number of Readers may run at once.
type Reader struct {
	r *seglog.Reader
}

// NewReader returns a reader that starts at the first record with offset >=
// from. from need not be a record offset; it usually is the end of the last
// record a caller handled.
func (w *WAL) NewReader(from uint64) *Reader {
	return &Reader{r: w.log.NewReader(from)}
}

// Next returns the next record, waiting until one is durable, ctx is done or
// the WAL is closed. rec belongs to the caller. Errors: ctx's error,
// ErrClosed, an error wrapping ErrTruncated when the reader's position was
// deleted by TruncateBefore, *CorruptionError (after which Next continues
// with the next segment), or an I/O error (Next may be retried).
func (r *Reader) Next(ctx context.Context) (offset uint64, rec []byte, err error) {
	offset, rec, err = r.r.Next(ctx)
	var cerr *seglog.CorruptionError
	if errors.As(err, &cerr) {
		return 0, nil, &CorruptionError{Segment: cerr.Segment, Offset: cerr.Offset, Err: cerr.Err}
	}
	return offset, rec, err
}

// Offset returns the reader's position: the offset of the next record it
// returns, or (before its first record, if created mid-frame) the offset it
// was created at. After Next returns a record it is the end of that record,
// the value to persist and resume from.
func (r *Reader) Offset() uint64 { return r.r.Offset() }

// Close releases the reader's file. Next after Close returns ErrClosed.
func (r *Reader) Close() error { return r.r.Close() }

// Replay calls fn for every retained record with offset >= from, in order, up
// to the durable end at call time (with SyncInterval 0 that is EndOffset).
// A corrupt frame is logged and the rest of its segment skipped. fn may keep
// rec. Replay returns fn's first error, ctx's error, or a read error.
func (w *WAL) Replay(ctx context.Context, from uint64, fn func(offset uint64, rec []byte) error) error {
	return w.log.Replay(ctx, from, fn)
}
