package fallback

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"sort"
)

const readBufferSize = 64 << 10

// errEndOfView ends a non-blocking read at the replay limit.
var errEndOfView = errors.New("end of wal view")

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
	w       *WAL
	pos     uint64 // offset of the next frame, once aligned
	aligned bool   // pos is known to be a frame boundary
	f       *os.File
	fbase   uint64 // base of the segment f belongs to
	buf     []byte // bytes of f starting at file offset bufOff
	bufOff  int64
	closed  bool
}

// NewReader returns a reader that starts at the first record with offset >=
// from. from need not be a record offset; it usually is the end of the last
// record a caller handled.
func (w *WAL) NewReader(from uint64) *Reader {
	return &Reader{w: w, pos: from}
}

// Next returns the next record, waiting until one is durable, ctx is done or
// the WAL is closed. rec belongs to the caller. Errors: ctx's error,
// ErrClosed, an error wrapping ErrTruncated when the reader's position was
// deleted by TruncateBefore, *CorruptionError (after which Next continues
// with the next segment), or an I/O error (Next may be retried).
func (r *Reader) Next(ctx context.Context) (offset uint64, rec []byte, err error) {
	return r.next(ctx, math.MaxUint64, true)
}

// Offset returns the reader's position: the offset of the next record it
// returns, or (before its first record, if created mid-frame) the offset it
// was created at. After Next returns a record it is the end of that record,
// the value to persist and resume from.
func (r *Reader) Offset() uint64 { return r.pos }

// Close releases the reader's file. Next after Close returns ErrClosed.
func (r *Reader) Close() error {
	r.closed = true
	return r.closeFile()
}

// Replay calls fn for every retained record with offset >= from, in order, up
// to the durable end at call time (with SyncInterval 0 that is EndOffset).
// A corrupt frame is logged and the rest of its segment skipped. fn may keep
// rec. Replay returns fn's first error, ctx's error, or a read error.
func (w *WAL) Replay(ctx context.Context, from uint64, fn func(offset uint64, rec []byte) error) error {
	w.stateMu.RLock()
	closed, end, first := w.isClosed, w.durable, w.segs[0].base
	w.stateMu.RUnlock()
	if closed {
		return ErrClosed
	}
	r := w.NewReader(max(from, first))
	defer r.Close()
	for {
		off, rec, err := r.next(ctx, end, false)
		var cerr *CorruptionError
		switch {
		case err == errEndOfView:
			return nil
		case errors.As(err, &cerr):
			w.logger.Warn("skipping rest of corrupt wal segment", "segment", cerr.Segment, "offset", cerr.Offset, "err", cerr.Err)
			continue
		case err != nil:
			return err
		}
		if err := fn(off, rec); err != nil {
			return err
		}
	}
}

// readView is a snapshot of the WAL state a read needs.
type readView struct {
	first, durable uint64
	notify         chan struct{}
	closed         bool
	base           uint64 // base of the segment holding pos
	end            uint64 // its end if it is closed, else MaxUint64
	next           uint64 // base of the following segment, if any
}

func (w *WAL) view(pos uint64) readView {
	w.stateMu.RLock()
	defer w.stateMu.RUnlock()
	v := readView{first: w.segs[0].base, durable: w.durable, notify: w.notify, closed: w.isClosed, end: math.MaxUint64}
	i := sort.Search(len(w.segs), func(i int) bool { return w.segs[i].base > pos }) - 1
	if i < 0 {
		return v
	}
	s := w.segs[i]
	v.base = s.base
	if i < len(w.segs)-1 {
		v.end = s.base + uint64(s.size)
		v.next = w.segs[i+1].base
	}
	return v
}

func (r *Reader) next(ctx context.Context, limit uint64, block bool) (uint64, []byte, error) {
	for {
		if r.closed {
			return 0, nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		v := r.w.view(r.pos)
		if v.closed {
			return 0, nil, ErrClosed
		}
		if r.pos < v.first {
			return 0, nil, fmt.Errorf("read offset %d (oldest retained %d): %w", r.pos, v.first, ErrTruncated)
		}
		end := min(v.durable, limit)
		if r.pos >= end {
			if !block {
				return 0, nil, errEndOfView
			}
			select {
			case <-v.notify:
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			case <-r.w.closedCh:
				return 0, nil, ErrClosed
			}
			continue
		}
		if r.pos >= v.end {
			// Past the end of a closed segment: on to the next one.
			r.skipTo(v.next)
			continue
		}
		if err := r.openSegment(v.base); err != nil {
			if errors.Is(err, fs.ErrNotExist) && r.w.FirstOffset() > r.pos {
				continue // deleted under us: report ErrTruncated
			}
			return 0, nil, err
		}
		limitOff := int64(min(end, v.end) - v.base)
		var (
			off uint64
			rec []byte
			err error
		)
		if r.aligned {
			off, rec, err = r.readFrame(v.base, limitOff)
		} else {
			err = r.align(v.base, limitOff)
		}
		var cerr *CorruptionError
		switch {
		case errors.As(err, &cerr):
			return 0, nil, r.corrupt(v, cerr)
		case err != nil:
			return 0, nil, err
		case rec == nil:
			continue // aligned; read from the new position
		}
		return off, rec, nil
	}
}

// corruptAt reports a bad frame at offset off; next fills in the segment.
func corruptAt(off uint64, cause error) error {
	return &CorruptionError{Offset: off, Err: cause}
}

// align moves pos forward to the first frame boundary at or after it by
// walking the frame headers of the segment from its start.
func (r *Reader) align(base uint64, limit int64) error {
	target := int64(r.pos - base)
	off := int64(0)
	for off < target {
		hdr, err := r.read(base, off, frameHeaderSize, limit)
		if err != nil {
			return err
		}
		n := binary.LittleEndian.Uint32(hdr)
		if err := checkLength(n); err != nil {
			return corruptAt(base+uint64(off), err)
		}
		off += frameHeaderSize + int64(n)
	}
	r.pos, r.aligned = base+uint64(off), true
	return nil
}

// readFrame reads the frame at pos and advances pos past it.
func (r *Reader) readFrame(base uint64, limit int64) (uint64, []byte, error) {
	off := r.pos
	foff := int64(off - base)
	hdr, err := r.read(base, foff, frameHeaderSize, limit)
	if err != nil {
		return 0, nil, err
	}
	n, sum := binary.LittleEndian.Uint32(hdr[:4]), binary.LittleEndian.Uint32(hdr[4:])
	if err := checkLength(n); err != nil {
		return 0, nil, corruptAt(off, err)
	}
	p, err := r.read(base, foff+frameHeaderSize, int(n), limit)
	if err != nil {
		return 0, nil, err
	}
	if crc32.Checksum(p, castagnoli) != sum {
		return 0, nil, corruptAt(off, errChecksum)
	}
	rec := p
	if int(n) <= readBufferSize {
		rec = bytes.Clone(p) // p aliases the read buffer
	}
	r.pos = off + frameHeaderSize + uint64(n)
	return off, rec, nil
}

// read returns n bytes of the current segment (base) at file offset off,
// never reading at or past limit: bytes below the durable end never change,
// bytes above it may still be rolled back. The result aliases the read
// buffer unless n > readBufferSize. Bytes missing below limit are a
// *CorruptionError; other failures are I/O errors.
func (r *Reader) read(base uint64, off int64, n int, limit int64) ([]byte, error) {
	if off+int64(n) > limit {
		return nil, corruptAt(base+uint64(off), fmt.Errorf("%d bytes at file offset %d cross the readable end %d", n, off, limit))
	}
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : off-r.bufOff+int64(n)], nil
	}
	var p []byte
	if n > readBufferSize {
		p = make([]byte, n)
	} else {
		if cap(r.buf) < readBufferSize {
			r.buf = make([]byte, readBufferSize)
		}
		r.buf, r.bufOff = r.buf[:min(int64(readBufferSize), limit-off)], off
		p = r.buf
	}
	k, err := r.f.ReadAt(p, off)
	if n <= readBufferSize {
		r.buf = p[:k]
	}
	if k < n {
		if err == nil || err == io.EOF {
			return nil, corruptAt(base+uint64(off), fmt.Errorf("segment file ends at %d: %w", off+int64(k), io.ErrUnexpectedEOF))
		}
		return nil, fmt.Errorf("read segment %d: %w", base, err)
	}
	return p[:n], nil
}

// corrupt skips the rest of the segment holding a bad frame.
func (r *Reader) corrupt(v readView, cerr *CorruptionError) error {
	r.w.m.corruptions.Inc()
	if v.end != math.MaxUint64 {
		r.skipTo(v.next)
	} else {
		r.skipTo(v.durable) // the active segment: resume at its durable end
	}
	cerr.Segment = v.base
	return cerr
}

func (r *Reader) skipTo(pos uint64) {
	r.pos, r.aligned = pos, true
	_ = r.closeFile()
}

func (r *Reader) openSegment(base uint64) error {
	if r.f != nil && r.fbase == base {
		return nil
	}
	if err := r.closeFile(); err != nil {
		return err
	}
	f, err := os.Open(segmentPath(r.w.cfg.Dir, base))
	if err != nil {
		return fmt.Errorf("open segment %d: %w", base, err)
	}
	r.f, r.fbase = f, base
	r.buf, r.bufOff = r.buf[:0], 0
	return nil
}

func (r *Reader) closeFile() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f, r.buf, r.bufOff = nil, r.buf[:0], 0
	return err
}
