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
