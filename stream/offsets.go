package stream

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

const (
	groupsDirName = "groups"
	groupSuffix   = ".json"
	// maxGroupLen keeps the file name (hex of the group) within 255 bytes.
	maxGroupLen = 120
)

// groupFile is the content of one group's offsets file.
type groupFile struct {
	Group   string  `json:"group"`
	Offsets []int64 `json:"offsets"` // per partition: the next offset to read
}

// offsetStore keeps the committed offsets of every consumer group, one file
// per group (<Dir>/groups/<hex of the group>.json), each replaced atomically
// on commit.
type offsetStore struct {
	dir   string
	parts int
	// write replaces a file atomically; tests put crashes in it.
	write func(path string, data []byte) error

	writeMu sync.Mutex // serializes commits: files are written in the order the map changes
	mu      sync.RWMutex
	groups  map[string][]int64
}

func groupPath(dir, group string) string {
	return filepath.Join(dir, hex.EncodeToString([]byte(group))+groupSuffix)
}

// loadOffsets reads every group's file in dir, creating dir if needed, and
// removes temporary files a crash mid-commit left behind.
func loadOffsets(dir string, parts int) (*offsetStore, error) {
	s := &offsetStore{dir: dir, parts: parts, write: seglog.WriteFileAtomic, groups: map[string][]int64{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create groups dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			// A commit that crashed before its rename: the old file stands.
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("remove stale %s: %w", name, err)
			}
			continue
		}
		stem, ok := strings.CutSuffix(name, groupSuffix)
		if !ok {
			continue
		}
		group, err := hex.DecodeString(stem)
		if err != nil {
			return nil, fmt.Errorf("read offsets file %s: name is not a hex group name", name)
		}
		offsets, err := readGroupFile(filepath.Join(dir, name), string(group), parts)
		if err != nil {
			return nil, err
		}
		s.groups[string(group)] = offsets
	}
	return s, nil
}

func readGroupFile(path, group string, parts int) ([]int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read offsets of group %q: %w", group, err)
	}
	var gf groupFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gf); err != nil {
		return nil, fmt.Errorf("parse offsets of group %q in %s: %w", group, path, err)
	}
	switch {
	case gf.Group != group:
		return nil, fmt.Errorf("parse offsets in %s: names group %q, file name says %q", path, gf.Group, group)
	case len(gf.Offsets) != parts:
		return nil, fmt.Errorf("parse offsets of group %q in %s: %d partitions, the stream has %d", group, path, len(gf.Offsets), parts)
	case slices.ContainsFunc(gf.Offsets, func(o int64) bool { return o < 0 }):
		return nil, fmt.Errorf("parse offsets of group %q in %s: negative offset", group, path)
	}
	return gf.Offsets, nil
}

func checkGroup(group string) error {
	if group == "" || len(group) > maxGroupLen {
		return fmt.Errorf("consumer group name of %d bytes: want 1 to %d", len(group), maxGroupLen)
	}
	return nil
}

// commit stores offset for group and partition p: the group's file is
// rewritten whole (temp file, fsync, rename, fsync of the directory), so a
// crash leaves the old or the new offsets, never a mix.
func (s *offsetStore) commit(group string, p int, offset int64) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("commit negative offset %d", offset)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	cur := s.groups[group]
	s.mu.RUnlock()
	if cur != nil && cur[p] == offset {
		return nil
	}
	next := make([]int64, s.parts)
	copy(next, cur)
	next[p] = offset
	raw, err := json.Marshal(groupFile{Group: group, Offsets: next})
	if err != nil {
		return fmt.Errorf("encode offsets of group %q: %w", group, err)
	}
	if err := s.write(groupPath(s.dir, group), raw); err != nil {
		return fmt.Errorf("write offsets of group %q: %w", group, err)
	}
	s.mu.Lock()
	s.groups[group] = next
	s.mu.Unlock()
	return nil
}

// committed returns group's committed offset for p, 0 when none.
func (s *offsetStore) committed(group string, p int) (int64, error) {
	if err := checkGroup(group); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cur := s.groups[group]; cur != nil {
		return cur[p], nil
	}
	return 0, nil
}
