package seglog

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// segment is the readers' view of one segment file; guarded by Log.stateMu.
type segment struct {
	base      uint64
	end       uint64 // offset just past its last frame (written, for the active one)
	size      int64
	lastWrite time.Time
	// idx maps offsets to file positions, one entry every indexInterval
	// bytes; the segment's start (base, 0) is implied. Entries are never
	// changed once appended (a roll-back replaces the slice), so a reader
	// may keep a copy of the slice header.
	idx     []indexEntry
	indexed bool // idx covers the segment (closed segments are indexed on first use)
}

// indexEntry says the frame at file position pos has offset off.
type indexEntry struct {
	off uint64
	pos int64
}

// SegmentPath returns the path of the segment with the given base.
func SegmentPath(dir, suffix string, base uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// ListSegments returns the bases of the segment files in dir, sorted.
func ListSegments(dir, suffix string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var bases []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || len(name) != 20 || !e.Type().IsRegular() {
			continue
		}
		base, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		bases = append(bases, base)
	}
	slices.Sort(bases)
	return bases, nil
}

// createSegment creates the segment file for base, empty, and makes its
// directory entry durable.
func (l *Log) createSegment(base uint64) (*os.File, error) {
	path := SegmentPath(l.cfg.Dir, l.cfg.Suffix, base)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	if err := SyncDir(l.cfg.Dir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	return f, nil
}

// load reads the segments, repairs the last one and opens it for appending.
// It runs before the writer starts.
func (l *Log) load() error {
	dir := l.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	bases, err := ListSegments(dir, l.cfg.Suffix)
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		f, err := l.createSegment(0)
		if err != nil {
			return err
		}
		l.active = l.cfg.WrapFile(f)
		l.segs = []*segment{{lastWrite: l.now(), indexed: true}}
		return nil
	}

	for i, base := range bases {
		fi, err := os.Stat(SegmentPath(dir, l.cfg.Suffix, base))
		if err != nil {
			return fmt.Errorf("stat segment %d: %w", base, err)
		}
		s := &segment{base: base, size: fi.Size(), lastWrite: fi.ModTime()}
		if i > 0 {
			prev := l.segs[i-1]
			if l.cfg.Counted {
				prev.end = base // segments are contiguous: a new one starts at the end of the last
			} else {
				prev.end = prev.base + uint64(prev.size)
				if prev.end > base {
					return fmt.Errorf("segment %d overlaps segment %d (%d bytes)", base, prev.base, prev.size)
				}
			}
		}
		l.segs = append(l.segs, s)
	}

	last := l.segs[len(l.segs)-1]
	if err := l.repairTail(last); err != nil {
		return err
	}
	f, err := os.OpenFile(SegmentPath(dir, l.cfg.Suffix, last.base), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open segment %d: %w", last.base, err)
	}
	l.active = l.cfg.WrapFile(f)
	// What a previous process wrote may still sit in the page cache only.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync segment %d: %w", last.base, err)
	}
	l.activeBase, l.activeSize = last.base, last.size
	l.end = last.end
	l.synced, l.durable = l.end, l.end
	l.syncedSize, l.durableSize = last.size, last.size
	if n := len(last.idx); n > 0 {
		l.lastIdxPos = last.idx[n-1].pos
	}
	return nil
}

// repairTail validates the last segment frame by frame, truncates it at the
// first short or corrupt frame (the torn tail of an interrupted write) and
// indexes it.
func (l *Log) repairTail(s *segment) error {
	path := SegmentPath(l.cfg.Dir, l.cfg.Suffix, s.base)
	sc, err := scanSegment(path, l.cfg.Counted, s.base)
	if err != nil {
		return err
	}
	s.end, s.idx, s.indexed = sc.end, sc.idx, true
	if sc.valid == s.size {
		return nil
	}
	l.m.Corruptions.Inc()
	l.logger.Warn("truncating torn tail",
		"segment", s.base, "offset", sc.end, "dropped_bytes", s.size-sc.valid, "reason", sc.reason)
	if err := os.Truncate(path, sc.valid); err != nil {
		return fmt.Errorf("truncate segment %d: %w", s.base, err)
	}
	s.size = sc.valid
	return nil
}

// scan is what scanSegment finds in a segment file.
type scan struct {
	valid  int64        // length of the longest prefix of valid frames
	reason error        // why the rest (if any) is invalid
	end    uint64       // offset just past the last valid frame
	idx    []indexEntry // index of the valid prefix
}

// scanSegment reads a segment file from the start, checking every frame.
func scanSegment(path string, counted bool, base uint64) (scan, error) {
	sc := scan{end: base}
	f, err := os.Open(path)
	if err != nil {
		return sc, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var hdr [FrameHeaderSize]byte
	var payload []byte
	var lastIdx int64
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return sc, nil
			}
			if err == io.ErrUnexpectedEOF {
				sc.reason = fmt.Errorf("short frame header: %w", err)
				return sc, nil
			}
			return sc, fmt.Errorf("read segment: %w", err)
		}
		n, sum := binary.LittleEndian.Uint32(hdr[:4]), binary.LittleEndian.Uint32(hdr[4:])
		if err := checkLength(n); err != nil {
			sc.reason = err
			return sc, nil
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				sc.reason = fmt.Errorf("short frame payload: %w", io.ErrUnexpectedEOF)
				return sc, nil
			}
			return sc, fmt.Errorf("read segment: %w", err)
		}
		if crc32.Checksum(payload, castagnoli) != sum {
			sc.reason = ErrChecksum
			return sc, nil
		}
		units := uint64(FrameHeaderSize + n)
		if counted {
			if units, err = recordCount(payload); err != nil {
				sc.reason = err
				return sc, nil
			}
		}
		if sc.valid-lastIdx >= indexInterval {
			sc.idx = append(sc.idx, indexEntry{off: sc.end, pos: sc.valid})
			lastIdx = sc.valid
		}
		sc.valid += FrameHeaderSize + int64(n)
		sc.end += units
	}
}

// Validate returns the length of the longest prefix of the segment file at
// path that is a sequence of valid frames, and why the rest (if any) is
// invalid. counted checks the record counts of a Counted log too.
func Validate(path string, counted bool) (valid int64, reason error, err error) {
	sc, err := scanSegment(path, counted, 0)
	return sc.valid, sc.reason, err
}

func checkLength(n uint32) error {
	if n == 0 || n > MaxRecordSize {
		return fmt.Errorf("invalid frame length %d", n)
	}
	return nil
}

// segmentIndex returns the index of s, scanning the file the first time a
// closed segment is read.
func (l *Log) segmentIndex(s *segment) ([]indexEntry, error) {
	l.stateMu.RLock()
	idx, ok := s.idx, s.indexed
	l.stateMu.RUnlock()
	if ok {
		return idx, nil
	}
	l.indexMu.Lock()
	defer l.indexMu.Unlock()
	l.stateMu.RLock()
	idx, ok = s.idx, s.indexed
	l.stateMu.RUnlock()
	if ok {
		return idx, nil
	}
	// A corrupt frame ends the index early; the reader meets it and skips.
	sc, err := scanSegment(SegmentPath(l.cfg.Dir, l.cfg.Suffix, s.base), l.cfg.Counted, s.base)
	if err != nil {
		return nil, fmt.Errorf("index segment %d: %w", s.base, err)
	}
	l.stateMu.Lock()
	s.idx, s.indexed = sc.idx, true
	l.stateMu.Unlock()
	return sc.idx, nil
}

// SyncDir fsyncs a directory, making its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// WriteFileAtomic replaces the file at path with data so that a crash leaves
// either the old or the new content: it writes path+".tmp", fsyncs it,
// renames it over path and fsyncs the directory. A stale .tmp file from a
// crash is overwritten by the next write; readers ignore it.
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
