package seglog

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
	"sync"
)

const readBufferSize = 64 << 10

// errEndOfView ends a non-blocking read at its limit.
var errEndOfView = errors.New("end of log view")

// bufPool recycles readers' buffers: the stream makes a reader per Fetch.
var bufPool = sync.Pool{New: func() any { return new([readBufferSize]byte) }}

// CorruptionError reports a frame that failed validation (bad length, short,
// CRC mismatch or bad record count) in a segment below the durable end.
// Reader.Next returns it once and then continues with the next segment: the
// rest of the corrupt segment is skipped. Replay logs it and continues the
// same way.
type CorruptionError struct {
	Segment uint64 // base offset of the segment
	Offset  uint64 // offset of the bad frame
	Err     error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupt segment %d at offset %d: %v", e.Segment, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Reader reads the log in offset order and, once at the end, waits for new
// frames. It sees a frame once it is fsynced (in both sync policies), so an
// offset a reader has seen survives an OS crash and is never reused. A
// Reader is not safe for concurrent use; any number of Readers may run at
// once.
type Reader struct {
	l       *Log
	pos     uint64 // offset of the next frame, once aligned
	fpos    int64  // its position in the file of segment seg, once aligned
	seg     uint64 // base of the segment fpos belongs to
	aligned bool   // pos and fpos are known to be a frame boundary
	holding bool   // align to the frame holding pos rather than the next one
	f       *os.File
	fbase   uint64 // base of the segment f belongs to
	buf     []byte // bytes of f starting at file offset bufOff
	bufOff  int64
	closed  bool
}

// NewReader returns a reader that starts at the first frame with offset >=
// from. from need not be a frame offset; it usually is the end of the last
// frame a caller handled.
func (l *Log) NewReader(from uint64) *Reader {
	return &Reader{l: l, pos: from}
}

// NewReaderAt returns a reader that starts at the frame holding offset: the
// frame with the greatest offset <= offset, so with a Counted log the one
// whose records include the record at offset.
func (l *Log) NewReaderAt(offset uint64) *Reader {
	return &Reader{l: l, pos: offset, holding: true}
}

// Next returns the next frame's offset and payload, waiting until one is
// durable, ctx is done or the log is closed. rec belongs to the caller.
// Errors: ctx's error, Errors.Closed, an error wrapping Errors.Truncated
// when the reader's position was deleted by TruncateBefore,
// *CorruptionError (after which Next continues with the next segment), or an
// I/O error (Next may be retried).
func (r *Reader) Next(ctx context.Context) (offset uint64, rec []byte, err error) {
	return r.next(ctx, math.MaxUint64, true)
}

// TryNext is Next without the wait: at the durable end it returns ok false
// and no error.
func (r *Reader) TryNext(ctx context.Context) (offset uint64, rec []byte, ok bool, err error) {
	offset, rec, err = r.next(ctx, math.MaxUint64, false)
	if errors.Is(err, errEndOfView) {
		return 0, nil, false, nil
	}
	return offset, rec, err == nil, err
}

// Offset returns the reader's position: the offset of the next frame it
// returns, or (before its first frame, if created inside one) the offset it
// was created at. After Next returns a frame it is the end of that frame,
// the value to persist and resume from.
func (r *Reader) Offset() uint64 { return r.pos }

// Close releases the reader's file. Next after Close returns Errors.Closed.
func (r *Reader) Close() error {
	r.closed = true
	err := r.closeFile()
	if cap(r.buf) == readBufferSize {
		bufPool.Put((*[readBufferSize]byte)(r.buf[:readBufferSize]))
	}
	r.buf = nil
	return err
}

// Replay calls fn for every retained frame with offset >= from, in order, up
// to the durable end at call time (with SyncInterval 0 that is EndOffset).
// A corrupt frame is logged and the rest of its segment skipped. fn may keep
// rec. Replay returns fn's first error, ctx's error, or a read error.
func (l *Log) Replay(ctx context.Context, from uint64, fn func(offset uint64, rec []byte) error) error {
	l.stateMu.RLock()
	closed, end, first := l.isClosed, l.durable, l.segs[0].base
	l.stateMu.RUnlock()
	if closed {
		return l.errs.Closed
	}
	r := l.NewReader(max(from, first))
	defer r.Close()
	for {
		off, rec, err := r.next(ctx, end, false)
		var cerr *CorruptionError
		switch {
		case errors.Is(err, errEndOfView):
			return nil
		case errors.As(err, &cerr):
			l.logger.Warn("skipping rest of corrupt segment", "segment", cerr.Segment, "offset", cerr.Offset, "err", cerr.Err)
			continue
		case err != nil:
			return err
		}
		if err := fn(off, rec); err != nil {
			return err
		}
	}
}

// readView is a snapshot of the log state a read needs.
type readView struct {
	first, durable uint64
	notify         chan struct{}
	closed         bool
	seg            *segment // the segment holding pos; nil below the first
	base           uint64   // its base
	end            uint64   // its end if it is closed, else MaxUint64
	next           uint64   // base of the following segment, if any
	limit          int64    // bytes of its file readers may read
}

func (l *Log) view(pos uint64) readView {
	l.stateMu.RLock()
	defer l.stateMu.RUnlock()
	v := readView{first: l.segs[0].base, durable: l.durable, notify: l.notify, closed: l.isClosed, end: math.MaxUint64}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > pos }) - 1
	if i < 0 {
		return v
	}
	s := l.segs[i]
	v.seg, v.base, v.limit = s, s.base, l.durableSize
	if i < len(l.segs)-1 {
		v.end, v.next, v.limit = s.end, l.segs[i+1].base, s.size
	}
	return v
}

func (r *Reader) next(ctx context.Context, limit uint64, block bool) (uint64, []byte, error) {
	l := r.l
	for {
		if r.closed {
			return 0, nil, l.errs.Closed
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		v := l.view(r.pos)
		if v.closed {
			return 0, nil, l.errs.Closed
		}
		if r.pos < v.first {
			return 0, nil, fmt.Errorf("read offset %d (oldest retained %d): %w", r.pos, v.first, l.errs.Truncated)
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
			case <-l.closedCh:
				return 0, nil, l.errs.Closed
			}
			continue
		}
		if r.pos >= v.end {
			// Past the end of a closed segment: on to the next one.
			r.skipTo(v.next, v.next, 0)
			continue
		}
		if err := r.openSegment(v.base); err != nil {
			if errors.Is(err, fs.ErrNotExist) && l.FirstOffset() > r.pos {
				continue // deleted under us: report the truncation
			}
			return 0, nil, err
		}
		if r.aligned && r.seg != v.base {
			// Moved into the next segment: its start is a frame boundary.
			r.seg, r.fpos, r.aligned = v.base, 0, r.pos == v.base
		}
		var (
			off uint64
			rec []byte
			err error
		)
		if r.aligned {
			off, rec, err = r.readFrame(v)
		} else {
			err = r.align(v)
		}
		var cerr *CorruptionError
		switch {
		case errors.As(err, &cerr):
			return 0, nil, r.corrupt(v, cerr)
		case err != nil:
			if errors.Is(err, fs.ErrNotExist) && l.FirstOffset() > r.pos {
				continue
			}
			return 0, nil, err
		case rec == nil:
			continue // aligned; read from the new position
		}
		return off, rec, nil
	}
}

// align moves pos to a frame boundary: the first one at or after pos, or
// with holding the start of the frame holding pos. It starts from the
// nearest index entry at or below pos and walks the frame headers (checking
// whole frames in a Counted log, whose offsets depend on their content).
func (r *Reader) align(v readView) error {
	idx, err := r.l.segmentIndex(v.seg)
	if err != nil {
		return err
	}
	target := r.pos
	off, fpos := v.base, int64(0)
	if i := sort.Search(len(idx), func(i int) bool { return idx[i].off > target }) - 1; i >= 0 {
		off, fpos = idx[i].off, idx[i].pos
	}
	for off < target {
		n, units, _, err := r.frameAt(v, off, fpos, false)
		if err != nil {
			return err
		}
		if r.holding && off+units > target {
			break
		}
		off += units
		fpos += FrameHeaderSize + int64(n)
	}
	r.pos, r.fpos, r.seg, r.aligned = off, fpos, v.base, true
	return nil
}

// readFrame reads the frame at pos and advances pos past it.
func (r *Reader) readFrame(v readView) (uint64, []byte, error) {
	off := r.pos
	n, units, p, err := r.frameAt(v, off, r.fpos, true)
	if err != nil {
		return 0, nil, err
	}
	rec := p
	if n <= readBufferSize {
		rec = bytes.Clone(p) // p aliases the read buffer
	}
	r.pos += units
	r.fpos += FrameHeaderSize + int64(n)
	return off, rec, nil
}

// frameAt reads the header of the frame with offset off at file position
// fpos and returns its payload length and the offsets it takes; with full,
// also its CRC-checked payload (aliasing the read buffer when small).
func (r *Reader) frameAt(v readView, off uint64, fpos int64, full bool) (int, uint64, []byte, error) {
	hdr, err := r.read(v, off, fpos, FrameHeaderSize)
	if err != nil {
		return 0, 0, nil, err
	}
	n, sum := binary.LittleEndian.Uint32(hdr[:4]), binary.LittleEndian.Uint32(hdr[4:])
	if err := checkLength(n); err != nil {
		return 0, 0, nil, &CorruptionError{Offset: off, Err: err}
	}
	units := uint64(FrameHeaderSize + n)
	if !full && !r.l.cfg.Counted { // a Counted frame's offsets are in its payload
		return int(n), units, nil, nil
	}
	p, err := r.read(v, off, fpos+FrameHeaderSize, int(n))
	if err != nil {
		return 0, 0, nil, err
	}
	if crc32.Checksum(p, castagnoli) != sum {
		return 0, 0, nil, &CorruptionError{Offset: off, Err: ErrChecksum}
	}
	if r.l.cfg.Counted {
		if units, err = recordCount(p); err != nil {
			return 0, 0, nil, &CorruptionError{Offset: off, Err: err}
		}
	}
	return int(n), units, p, nil
}

// read returns n bytes of the current segment at file offset foff, never
// reading at or past v.limit: bytes below the durable end never change,
// bytes above it may still be rolled back. The result aliases the read
// buffer unless n > readBufferSize. Bytes missing below the limit are a
// *CorruptionError of the frame at off; other failures are I/O errors.
func (r *Reader) read(v readView, off uint64, foff int64, n int) ([]byte, error) {
	limit := v.limit
	if foff+int64(n) > limit {
		return nil, &CorruptionError{Offset: off, Err: fmt.Errorf("%d bytes at file offset %d cross the readable end %d", n, foff, limit)}
	}
	if foff >= r.bufOff && foff+int64(n) <= r.bufOff+int64(len(r.buf)) {
		return r.buf[foff-r.bufOff : foff-r.bufOff+int64(n)], nil
	}
	var p []byte
	if n > readBufferSize {
		p = make([]byte, n)
	} else {
		if cap(r.buf) < readBufferSize {
			r.buf = bufPool.Get().(*[readBufferSize]byte)[:]
		}
		r.buf, r.bufOff = r.buf[:min(int64(readBufferSize), limit-foff)], foff
		p = r.buf
	}
	k, err := r.f.ReadAt(p, foff)
	if n <= readBufferSize {
		r.buf = p[:k]
	}
	if k < n {
		if err == nil || err == io.EOF {
			return nil, &CorruptionError{Offset: off, Err: fmt.Errorf("segment file ends at %d: %w", foff+int64(k), io.ErrUnexpectedEOF)}
		}
		return nil, fmt.Errorf("read segment %d: %w", v.base, err)
	}
	return p[:n], nil
}

// corrupt skips the rest of the segment holding a bad frame.
func (r *Reader) corrupt(v readView, cerr *CorruptionError) error {
	r.l.m.Corruptions.Inc()
	if v.end != math.MaxUint64 {
		r.skipTo(v.next, v.next, 0)
	} else {
		r.skipTo(v.durable, v.base, v.limit) // the active segment: resume at its durable end
	}
	cerr.Segment = v.base
	return cerr
}

func (r *Reader) skipTo(pos, seg uint64, fpos int64) {
	r.pos, r.seg, r.fpos, r.aligned = pos, seg, fpos, true
	_ = r.closeFile()
}

func (r *Reader) openSegment(base uint64) error {
	if r.f != nil && r.fbase == base {
		return nil
	}
	if err := r.closeFile(); err != nil {
		return err
	}
	f, err := os.Open(SegmentPath(r.l.cfg.Dir, r.l.cfg.Suffix, base))
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
