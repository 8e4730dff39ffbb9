package fallback

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	segmentSuffix  = ".wal"
	nodeIDFileName = "NODE_ID"
	lockFileName   = "LOCK"
)

// segment is the readers' view of one segment file; guarded by WAL.stateMu.
type segment struct {
	base      uint64
	size      int64
	lastWrite time.Time
}

func segmentPath(dir string, base uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, segmentSuffix))
}

// createSegment creates the segment file for base, empty, and makes its
// directory entry durable.
func createSegment(dir string, base uint64) (*os.File, error) {
	f, err := os.OpenFile(segmentPath(dir, base), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		_ = os.Remove(segmentPath(dir, base))
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	return f, nil
}

func syncDir(dir string) error {
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

// load locks the directory, reads the node ID and the segments, repairs the
// last segment and opens it for appending. It runs before the writer starts.
func (w *WAL) load() error {
	dir := w.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	w.lockFile = lf
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("lock dir (is another process using it?): %w", err)
	}

	bases, err := listSegments(dir)
	if err != nil {
		return err
	}
	if w.nodeID, err = loadNodeID(dir, len(bases) == 0, w.logger); err != nil {
		return err
	}

	if len(bases) == 0 {
		f, err := createSegment(dir, 0)
		if err != nil {
			return err
		}
		w.active = w.wrapFile(f)
		w.segs = []*segment{{base: 0, lastWrite: time.Now()}}
		return nil
	}

	for i, base := range bases {
		fi, err := os.Stat(segmentPath(dir, base))
		if err != nil {
			return fmt.Errorf("stat segment %d: %w", base, err)
		}
		s := &segment{base: base, size: fi.Size(), lastWrite: fi.ModTime()}
		if i > 0 {
			prev := w.segs[i-1]
			if prev.base+uint64(prev.size) > base {
				return fmt.Errorf("segment %d overlaps segment %d (%d bytes)", base, prev.base, prev.size)
			}
		}
		w.segs = append(w.segs, s)
	}

	last := w.segs[len(w.segs)-1]
	if err := w.repairTail(last); err != nil {
		return err
	}
	f, err := os.OpenFile(segmentPath(dir, last.base), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open segment %d: %w", last.base, err)
	}
	w.active = w.wrapFile(f)
	// What a previous process wrote may still sit in the page cache only.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync segment %d: %w", last.base, err)
	}
	w.activeBase, w.activeSize = last.base, last.size
	w.end = last.base + uint64(last.size)
	w.synced, w.durable = w.end, w.end
	return nil
}

// repairTail validates the last segment frame by frame and truncates it at the
// first short or corrupt frame: the torn tail of an interrupted write.
func (w *WAL) repairTail(s *segment) error {
	path := segmentPath(w.cfg.Dir, s.base)
	valid, reason, err := validateSegment(path)
	if err != nil {
		return err
	}
	if valid == s.size {
		return nil
	}
	w.m.corruptions.Inc()
	w.logger.Warn("truncating torn wal tail",
		"segment", s.base, "offset", s.base+uint64(valid), "dropped_bytes", s.size-valid, "reason", reason)
	if err := os.Truncate(path, valid); err != nil {
		return fmt.Errorf("truncate segment %d: %w", s.base, err)
	}
	s.size = valid
	return nil
}

// validateSegment returns the length of the longest prefix of the file that
// is a sequence of valid frames, and why the rest (if any) is invalid.
func validateSegment(path string) (valid int64, reason error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var hdr [frameHeaderSize]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return valid, nil, nil
			}
			if err == io.ErrUnexpectedEOF {
				return valid, fmt.Errorf("short frame header: %w", err), nil
			}
			return 0, nil, fmt.Errorf("read segment: %w", err)
		}
		n, sum := binary.LittleEndian.Uint32(hdr[:4]), binary.LittleEndian.Uint32(hdr[4:])
		if err := checkLength(n); err != nil {
			return valid, err, nil
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return valid, fmt.Errorf("short frame payload: %w", io.ErrUnexpectedEOF), nil
			}
			return 0, nil, fmt.Errorf("read segment: %w", err)
		}
		if crc32.Checksum(payload, castagnoli) != sum {
			return valid, errChecksum, nil
		}
		valid += frameHeaderSize + int64(n)
	}
}

var errChecksum = errors.New("checksum mismatch")

func checkLength(n uint32) error {
	if n == 0 || n > MaxRecordSize {
		return fmt.Errorf("invalid frame length %d", n)
	}
	return nil
}

// listSegments returns the bases of the segment files in dir, sorted.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var bases []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
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

// loadNodeID reads NODE_ID, or creates it. If the file exists but there are
// no segments (fresh is true), the segments were lost: offsets would restart
// at 0 under an identity whose offsets were already used, so a new identity
// is made.
func loadNodeID(dir string, fresh bool, logger *slog.Logger) (string, error) {
	path := filepath.Join(dir, nodeIDFileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if id == "" {
			return "", fmt.Errorf("read node id: %s is empty", path)
		}
		if !fresh {
			return id, nil
		}
		logger.Warn("wal has a node id but no segments; starting a new node id so offsets are never reused", "old_node_id", id)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read node id: %w", err)
	}

	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate node id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
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
