package stream

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestEmbeddedTornTail checks the stream's part of a repair (seglog's tests
// cover the scenarios): a partition keeps whole batches only, and its
// corruptions counter is the one labeled with it.
func TestEmbeddedTornTail(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, path string, size int64)
		keep    int // batches that survive
	}{
		{"last batch cut", func(t *testing.T, path string, size int64) { truncateFile(t, path, size-3) }, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 2}
			e := openTest(t, cfg)
			var want [][]byte
			for i := range 10 {
				recs := testBatch("t", i, 3)
				if _, err := e.Append(ctx, 1, recs); err != nil {
					t.Fatal(err)
				}
				want = append(want, recs...)
			}
			if err := stopEmbedded(e); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(cfg.Dir, "p-0001", "00000000000000000000.log")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.corrupt(t, path, fi.Size())

			e = openTest(t, cfg)
			want = want[:3*tc.keep]
			_, end, err := e.Bounds(ctx, 1)
			if err != nil || end != int64(len(want)) {
				t.Fatalf("end after repair: got %d, %v; want %d (whole batches only)", end, err, len(want))
			}
			checkMessages(t, fetchAll(t, e, 1, 0, 1<<20), want, 0)
			if got := testutil.ToFloat64(e.m.corruptions.WithLabelValues("1")); got != 1 {
				t.Fatalf("corruptions_total: got %v; want 1", got)
			}
			recs := testBatch("after", 0, 2)
			if first, err := e.Append(ctx, 1, recs); err != nil || first != end {
				t.Fatalf("Append after repair: got %d, %v; want %d", first, err, end)
			}
			checkMessages(t, fetchAll(t, e, 1, 0, 1<<20), append(want, recs...), 0)
		})
	}
}

func truncateFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedCorruptClosedSegment(t *testing.T) {
	ctx := context.Background()
	cfg := EmbeddedConfig{Dir: t.TempDir(), Partitions: 1, SegmentSize: 1 << 10}
	e := openTest(t, cfg)
	var want [][]byte
	for i := range 30 {
		recs := testBatch("c", i, 4)
		if _, err := e.Append(ctx, 0, recs); err != nil {
			t.Fatal(err)
		}
		want = append(want, recs...)
	}
	segs := e.parts[0].log.Segments()
	if err := stopEmbedded(e); err != nil {
		t.Fatal(err)
	}
	bad := segs[1]
	flipByte(t, filepath.Join(cfg.Dir, "p-0000", fmt.Sprintf("%020d.log", bad.Base)), bad.Size-1) // its last frame

	e = openTest(t, cfg)
	var got []Message
	for off := int64(0); off < 120; {
		msgs, err := e.Fetch(ctx, 0, off, 1<<20)
		if err != nil {
			t.Fatalf("Fetch(%d): %v", off, err)
		}
		got = append(got, msgs...)
		off = msgs[len(msgs)-1].Offset + 1
	}
	// The bad frame (the segment's last) is skipped; offsets jump over it.
	lastFrame := 4
	var exp [][]byte
	var expOff []int64
	for i, v := range want {
		if i < int(bad.End)-lastFrame || i >= int(bad.End) {
			exp, expOff = append(exp, v), append(expOff, int64(i))
		}
	}
	if len(got) != len(exp) {
		t.Fatalf("got %d messages; want %d: all but the corrupt frame's %d", len(got), len(exp), lastFrame)
	}
	for i, m := range got {
		if m.Offset != expOff[i] || !bytes.Equal(m.Value, exp[i]) {
			t.Fatalf("message %d: got (%d, %q); want (%d, %q)", i, m.Offset, m.Value, expOff[i], exp[i])
		}
	}
	if got := testutil.ToFloat64(e.m.corruptions.WithLabelValues("0")); got != 1 {
		t.Fatalf("corruptions_total: got %v; want 1", got)
	}
	// A Fetch starting inside the corrupt frame resumes after it.
	msgs, err := e.Fetch(ctx, 0, int64(bad.End)-2, 1)
	if err != nil || len(msgs) != 1 || msgs[0].Offset != int64(bad.End) {
		t.Fatalf("Fetch inside the corrupt frame: got %v, %v; want the record at %d", msgs, err, bad.End)
	}
}
