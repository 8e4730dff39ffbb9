package fallback

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

const (
	segmentSuffix  = ".wal"
	nodeIDFileName = "NODE_ID"
	lockFileName   = "LOCK"
)

func segmentPath(dir string, base uint64) string {
	return seglog.SegmentPath(dir, segmentSuffix, base)
}

// validateSegment returns the length of the longest prefix of the file that
// is a sequence of valid frames, and why the rest (if any) is invalid.
func validateSegment(path string) (valid int64, reason error, err error) {
	return seglog.Validate(path, false)
}

// errChecksum is the cause of a *CorruptionError for a CRC mismatch.
var errChecksum = seglog.ErrChecksum

// load locks the directory, reads or makes the node ID and opens the
// segments (seglog repairs the last one and starts the writer).
func (w *WAL) load(wrapFile func(*os.File) segmentFile) error {
	dir := w.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	lf, err := seglog.LockDir(dir, lockFileName)
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
	w.log, err = seglog.Open(seglog.Config{
		Dir:             dir,
		Suffix:          segmentSuffix,
		Name:            "wal",
		SegmentSize:     w.cfg.SegmentSize,
		SyncInterval:    w.cfg.SyncInterval,
		MaxPendingBytes: w.cfg.MaxPendingBytes,
		Errors: seglog.Errors{
			Closed:    ErrClosed,
			Truncated: ErrTruncated,
			TooLarge:  ErrRecordTooLarge,
			Empty:     ErrEmptyRecord,
			Failed:    ErrFailed,
		},
		Metrics:  w.m.seglog(),
		WrapFile: wrapFile,
	}, w.logger)
	return err
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
	if err := seglog.WriteFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}
