package seglog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The corruption and repair tests of both offset modes: torn tails repaired
// at Open, corrupt frames in closed segments skipped by readers, random bit
// rot. fallback and stream test only what their layers add.

// logMode is one offset mode and the payloads its tests append.
type logMode struct {
	counted bool
	payload func(i int) []byte
}

var logModes = map[string]logMode{
	"byte offsets": {false, func(i int) []byte { return fmt.Appendf(nil, "record-%08d-%s", i, strings.Repeat("x", i%37)) }},
	"counted":      {true, func(i int) []byte { return countedPayload(i, 1+i%5, 7) }},
}

// logged is an acknowledged frame: its offset, the offset after it and its payload.
type logged struct {
	off, end uint64
	rec      []byte
}

func appendFrames(t *testing.T, l *Log, m logMode, from, n int) []logged {
	t.Helper()
	var out []logged
	for i := from; i < from+n; i++ {
		rec := m.payload(i)
		off, err := l.Append(context.Background(), rec)
		if err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
		out = append(out, logged{off, l.EndOffset(), rec})
	}
	return out
}

func replayFrames(t *testing.T, l *Log) []logged {
	t.Helper()
	var out []logged
	if err := l.Replay(context.Background(), 0, func(off uint64, rec []byte) error {
		out = append(out, logged{off: off, rec: rec})
		return nil
	}); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return out
}

func checkFrames(t *testing.T, got, want []logged) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].off != want[i].off || !bytes.Equal(got[i].rec, want[i].rec) {
			t.Fatalf("frame %d: got (%d, %q); want (%d, %q)", i, got[i].off, got[i].rec, want[i].off, want[i].rec)
		}
	}
}

// corruptAt applies fn to the segment file at path, opened read-write.
func corruptAt(t *testing.T, path string, fn func(f *os.File) error) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fn(f); err != nil {
		t.Fatal(err)
	}
}

func flipByteAt(f *os.File, at int64) error {
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err := f.WriteAt(b, at)
	return err
}

// countedOnly marks the scenarios of a Counted log only.
const countedOnly = -1

func TestRepairTornTail(t *testing.T) {
	// corrupt damages the last frame, which starts at last in a file of size
	// bytes; intact is the number of the 10 frames that survive.
	for name, tc := range map[string]struct {
		corrupt func(f *os.File, size, last int64) error
		intact  int
	}{
		"payload cut":          {func(f *os.File, size, _ int64) error { return f.Truncate(size - 3) }, 9},
		"header cut":           {func(f *os.File, _, last int64) error { return f.Truncate(last + 4) }, 9},
		"payload byte flipped": {func(f *os.File, size, _ int64) error { return flipByteAt(f, size-1) }, 9}, // CRC mismatch
		"crc byte flipped":     {func(f *os.File, _, last int64) error { return flipByteAt(f, last+5) }, 9},
		"length made huge":     {func(f *os.File, _, last int64) error { return flipByteAt(f, last+3) }, 9},
		"zero-filled tail": {func(f *os.File, size, _ int64) error {
			_, err := f.WriteAt(make([]byte, 4096), size)
			return err
		}, 10},
		"record count made 0": {func(f *os.File, _, last int64) error {
			// A frame whose CRC matches a payload with count 0: only the count check catches it.
			p := binary.LittleEndian.AppendUint32(nil, 0)
			p = append(p, 'x')
			hdr := binary.LittleEndian.AppendUint32(nil, uint32(len(p)))
			hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(p, castagnoli))
			_, err := f.WriteAt(append(hdr, p...), last)
			return err
		}, countedOnly},
	} {
		for modeName, m := range logModes {
			intact := tc.intact
			if intact == countedOnly {
				if !m.counted {
					continue
				}
				intact = 9
			}
			t.Run(name+"/"+modeName, func(t *testing.T) {
				cfg := Config{Dir: t.TempDir(), Suffix: ".seg", Counted: m.counted}
				l := openTestLog(t, cfg)
				want := appendFrames(t, l, m, 0, 10)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				path := SegmentPath(cfg.Dir, cfg.Suffix, 0)
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				lastPos := fi.Size() - int64(FrameHeaderSize+len(want[9].rec))
				corruptAt(t, path, func(f *os.File) error { return tc.corrupt(f, fi.Size(), lastPos) })

				var logs bytes.Buffer
				cfg.Metrics.Corruptions = prometheus.NewCounter(prometheus.CounterOpts{Name: "corruptions"})
				l, err = Open(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
				if err != nil {
					t.Fatalf("Open after corruption: %v", err)
				}
				t.Cleanup(func() { _ = l.Close() })
				want = want[:intact]
				checkFrames(t, replayFrames(t, l), want)
				end := want[len(want)-1].end
				if got := l.EndOffset(); got != end {
					t.Fatalf("EndOffset: got %d; want %d", got, end)
				}
				wantSize := lastPos
				if intact == 10 {
					wantSize = fi.Size()
				}
				if fi, _ := os.Stat(path); fi.Size() != wantSize {
					t.Fatalf("segment size after repair: got %d; want %d", fi.Size(), wantSize)
				}
				if !strings.Contains(logs.String(), "dropped_bytes=") {
					t.Fatalf("got log %q; want a line with dropped_bytes", logs.String())
				}
				if got := testutil.ToFloat64(cfg.Metrics.Corruptions); got != 1 {
					t.Fatalf("corruptions: got %v; want 1", got)
				}
				more := appendFrames(t, l, m, 100, 5)
				if more[0].off != end {
					t.Fatalf("offset of the first frame after repair: got %d; want %d", more[0].off, end)
				}
				checkFrames(t, replayFrames(t, l), append(want, more...))
			})
		}
	}
}

func TestRepairCorruptClosedSegment(t *testing.T) {
	for modeName, m := range logModes {
		t.Run(modeName, func(t *testing.T) {
			ctx := context.Background()
			cfg := Config{Dir: t.TempDir(), Suffix: ".seg", Counted: m.counted, SegmentSize: 300}
			l := openTestLog(t, cfg)
			want := appendFrames(t, l, m, 0, 60)
			segs := l.Segments()
			if len(segs) < 3 {
				t.Fatalf("got %d segments; want several", len(segs))
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// Flip the last byte of the second frame of segment 1 (a CRC mismatch).
			var inSeg1 []logged
			for _, f := range want {
				if f.off >= segs[1].Base && f.off < segs[1].End {
					inSeg1 = append(inSeg1, f)
				}
			}
			bad := inSeg1[1]
			var pos int64
			for _, f := range inSeg1[:2] {
				pos += int64(FrameHeaderSize + len(f.rec))
			}
			corruptAt(t, SegmentPath(cfg.Dir, cfg.Suffix, segs[1].Base), func(f *os.File) error { return flipByteAt(f, pos-1) })

			var logs bytes.Buffer
			cfg.Metrics.Corruptions = prometheus.NewCounter(prometheus.CounterOpts{Name: "corruptions"})
			l, err := Open(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = l.Close() })
			var expect []logged
			for _, f := range want {
				if f.off < bad.off || f.off >= segs[1].End {
					expect = append(expect, f)
				}
			}
			checkFrames(t, replayFrames(t, l), expect) // the rest of segment 1 is skipped
			if !strings.Contains(logs.String(), "corrupt") {
				t.Fatalf("got log %q; want a corruption warning", logs.String())
			}

			r := l.NewReader(0)
			defer r.Close()
			var got []logged
			var corrupt int
			for len(got) < len(expect) {
				off, rec, err := r.Next(ctx)
				if cerr, ok := errors.AsType[*CorruptionError](err); ok {
					corrupt++
					if cerr.Segment != segs[1].Base || cerr.Offset != bad.off || !errors.Is(err, ErrChecksum) {
						t.Fatalf("CorruptionError %+v; want segment %d, offset %d, ErrChecksum", cerr, segs[1].Base, bad.off)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				got = append(got, logged{off: off, rec: rec})
			}
			checkFrames(t, got, expect)
			if corrupt != 1 {
				t.Fatalf("Next returned %d corruption errors; want 1", corrupt)
			}
			if got := testutil.ToFloat64(cfg.Metrics.Corruptions); got < 1 {
				t.Fatalf("corruptions: got %v; want at least 1", got)
			}

			// A reader positioned inside the skipped part resumes at the next segment.
			r2 := l.NewReaderAt(bad.off)
			defer r2.Close()
			for {
				off, _, err := r2.Next(ctx)
				if errors.As(err, new(*CorruptionError)) {
					continue
				}
				if err != nil || off != segs[1].End {
					t.Fatalf("reader at the corrupt frame: got %d, %v; want the frame at %d", off, err, segs[1].End)
				}
				break
			}
		})
	}
}

// TestRepairRandomCorruption flips random bytes in closed segments: reads
// never panic and never return a frame that was not written.
func TestRepairRandomCorruption(t *testing.T) {
	for modeName, m := range logModes {
		t.Run(modeName, func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), Suffix: ".seg", Counted: m.counted, SegmentSize: 400}
			l := openTestLog(t, cfg)
			want := appendFrames(t, l, m, 0, 150)
			segs := l.Segments()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			written := make(map[uint64]string, len(want))
			for _, f := range want {
				written[f.off] = string(f.rec)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 40 {
				s := segs[rng.IntN(len(segs)-1)] // a closed segment
				corruptAt(t, SegmentPath(cfg.Dir, cfg.Suffix, s.Base), func(f *os.File) error { return flipByteAt(f, rng.Int64N(s.Size)) })
			}

			l = openTestLog(t, cfg)
			replayed := replayFrames(t, l)
			for _, f := range replayed {
				if written[f.off] != string(f.rec) {
					t.Fatalf("replayed frame at %d: got %q; want %q", f.off, f.rec, written[f.off])
				}
			}
			r := l.NewReader(0)
			defer r.Close()
			var corrupt int
			for n := 0; n < len(replayed); {
				off, rec, err := r.Next(context.Background())
				if errors.As(err, new(*CorruptionError)) {
					corrupt++
					continue
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if written[off] != string(rec) {
					t.Fatalf("frame at %d: got %q; want %q", off, rec, written[off])
				}
				n++
			}
			if corrupt == 0 || len(replayed) == len(want) {
				t.Fatalf("got %d corruption errors and %d of %d frames; want some of each lost", corrupt, len(replayed), len(want))
			}
		})
	}
}
