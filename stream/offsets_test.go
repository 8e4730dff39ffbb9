package stream

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

func TestCommittedOffsetsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 3}
	e := openTest(t, cfg)
	commits := []struct {
		group  string
		p      int
		offset int64
	}{
		{"longterm", 0, 5}, {"longterm", 2, 7}, {"longterm", 0, 9}, {"other/group with spaces", 1, 3},
	}
	for _, c := range commits {
		if err := e.Commit(ctx, c.group, c.p, c.offset); err != nil {
			t.Fatalf("Commit(%q, %d, %d): %v", c.group, c.p, c.offset, err)
		}
	}
	want := map[string][3]int64{"longterm": {9, 0, 7}, "other/group with spaces": {0, 3, 0}, "never": {}}
	check := func(e *Embedded) {
		t.Helper()
		for g, offs := range want {
			for p, o := range offs {
				if got, err := e.Committed(ctx, g, p); err != nil || got != o {
					t.Fatalf("Committed(%q, %d): got %d, %v; want %d", g, p, got, err, o)
				}
			}
		}
	}
	check(e)
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	e = openTest(t, cfg)
	check(e)

	for _, bad := range []struct {
		group  string
		p      int
		offset int64
	}{{"", 0, 1}, {strings.Repeat("g", maxGroupLen+1), 0, 1}, {"g", 3, 1}, {"g", -1, 1}, {"g", 0, -1}} {
		if err := e.Commit(ctx, bad.group, bad.p, bad.offset); err == nil {
			t.Errorf("Commit(%q, %d, %d): got nil error", bad.group, bad.p, bad.offset)
		}
	}
}

func TestCommittedOffsetsConcurrent(t *testing.T) {
	ctx := context.Background()
	cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 4}
	e := openTest(t, cfg)
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for o := range int64(20) {
				if err := e.Commit(ctx, "g", p, o+1); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	e = openTest(t, cfg)
	for p := range 4 {
		if got, err := e.Committed(ctx, "g", p); err != nil || got != 20 {
			t.Fatalf("Committed(g, %d) after concurrent commits: got %d, %v; want 20", p, got, err)
		}
	}
}

var errCrash = errors.New("simulated crash")

// TestCommittedOffsetsCrashMidWrite stops a commit at each step of the
// atomic replacement, as a crash would, and checks that the reopened
// stream has the old or the new offsets, never garbage, and goes on.
func TestCommittedOffsetsCrashMidWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		crash   func(path string, data []byte) error
		wantNew bool
	}{
		{"torn temp file", func(path string, data []byte) error {
			_ = os.WriteFile(path+".tmp", data[:len(data)/2], 0o644)
			return errCrash
		}, false},
		{"garbage temp file", func(path string, _ []byte) error {
			_ = os.WriteFile(path+".tmp", []byte{0, 0, 0, 0xff, '{'}, 0o644)
			return errCrash
		}, false},
		{"temp file whole, not renamed", func(path string, data []byte) error {
			_ = os.WriteFile(path+".tmp", data, 0o644)
			return errCrash
		}, false},
		{"renamed, directory not synced", func(path string, data []byte) error {
			_ = seglog.WriteFileAtomic(path, data)
			return errCrash
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 2}
			e := openTest(t, cfg)
			if err := e.Commit(ctx, "g", 1, 10); err != nil {
				t.Fatal(err)
			}
			e.offsets.write = tc.crash
			if err := e.Commit(ctx, "g", 1, 20); !errors.Is(err, errCrash) {
				t.Fatalf("Commit with a crash: got %v; want the crash", err)
			}
			if err := e.Commit(ctx, "new", 0, 5); !errors.Is(err, errCrash) { // a group's first commit
				t.Fatalf("Commit with a crash: got %v; want the crash", err)
			}
			if err := stopEmbedded(e); err != nil {
				t.Fatal(err)
			}

			e = openTest(t, cfg)
			want, wantNewGroup := int64(10), int64(0)
			if tc.wantNew {
				want, wantNewGroup = 20, 5
			}
			if got, err := e.Committed(ctx, "g", 1); err != nil || got != want {
				t.Fatalf("Committed after the crash: got %d, %v; want %d", got, err, want)
			}
			if got, err := e.Committed(ctx, "new", 0); err != nil || got != wantNewGroup {
				t.Fatalf("Committed of a group whose first commit crashed: got %d, %v; want %d", got, err, wantNewGroup)
			}
			if tmps, _ := filepath.Glob(filepath.Join(cfg.Dir, groupsDirName, "*.tmp")); len(tmps) != 0 {
				t.Fatalf("temp files left after reopen: %v", tmps)
			}
			if err := e.Commit(ctx, "g", 1, 30); err != nil {
				t.Fatalf("Commit after reopen: %v", err)
			}
			if got, _ := e.Committed(ctx, "g", 1); got != 30 {
				t.Fatalf("Committed after a new commit: got %d; want 30", got)
			}
		})
	}
}

func TestCommittedOffsetsCorruptFileRefused(t *testing.T) {
	ctx := context.Background()
	cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 2}
	e := openTest(t, cfg)
	if err := e.Commit(ctx, "g", 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	path := groupPath(filepath.Join(cfg.Dir, groupsDirName), "g")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw[:len(raw)-3], 0o644); err != nil { // bit rot, not a crash
		t.Fatal(err)
	}
	if _, err := startEmbedded(cfg, nil, time.Now); err == nil || !strings.Contains(err.Error(), "offsets of group") {
		t.Fatalf("open with a damaged offsets file: got %v; want an error naming it", err)
	}
}
