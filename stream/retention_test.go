package stream

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bigRecord is big enough that a 1 KiB segment holds one batch of it.
func bigRecord(i int) []byte {
	return append([]byte{byte(i)}, bytes.Repeat([]byte("r"), 600)...)
}

func TestEmbeddedRetention(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        EmbeddedConfig
		step       time.Duration // clock advance between appends
		elapse     time.Duration // clock advance before EnforceRetention
		wantOldest int64
		reason     string
	}{
		// Segment k is last written at k×10 min; at 195 min, 135 min of
		// retention keeps those written at 60 min or later.
		{"age", EmbeddedConfig{RetentionAge: 135 * time.Minute}, 10 * time.Minute, 5 * time.Minute, 6, "age"},
		// 20 segments of one ~615-byte frame; 3000 bytes keep the last four.
		{"bytes", EmbeddedConfig{RetentionBytes: 3000}, time.Second, 0, 16, "bytes"},
		{"neither", EmbeddedConfig{}, time.Minute, time.Hour, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			cfg := tc.cfg
			cfg.Dir, cfg.Partitions, cfg.SegmentSize = t.TempDir(), 2, 1<<10
			e, err := startEmbedded(cfg, prometheus.NewRegistry(), clk.now)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = stopEmbedded(e) }()
			for i := range 20 {
				if i > 0 {
					clk.advance(tc.step)
				}
				if _, err := e.Append(ctx, 1, [][]byte{bigRecord(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if segs := e.parts[1].log.Segments(); len(segs) != 20 {
				t.Fatalf("got %d segments; want one per batch", len(segs))
			}
			clk.advance(tc.elapse)
			if err := e.EnforceRetention(); err != nil {
				t.Fatalf("EnforceRetention: %v", err)
			}
			oldest, end, err := e.Bounds(ctx, 1)
			if err != nil || oldest != tc.wantOldest || end != 20 {
				t.Fatalf("Bounds after retention: got %d, %d, %v; want %d, 20", oldest, end, err, tc.wantOldest)
			}
			if tc.reason != "" {
				if got := testutil.ToFloat64(e.m.retention.WithLabelValues("1", tc.reason)); got != float64(tc.wantOldest) {
					t.Fatalf("retention_deleted_segments_total{reason=%q}: got %v; want %d", tc.reason, got, tc.wantOldest)
				}
				if _, err := e.Fetch(ctx, 1, tc.wantOldest-1, 1); !errors.Is(err, ErrOffsetOutOfRange) {
					t.Fatalf("Fetch below the oldest: got %v; want ErrOffsetOutOfRange", err)
				}
			}
			checkMessages(t, fetchAll(t, e, 1, oldest, 1<<20), func() (want [][]byte) {
				for i := oldest; i < 20; i++ {
					want = append(want, bigRecord(int(i)))
				}
				return want
			}(), oldest)

			// Offsets go on from the end, also after a reopen.
			if err := stopEmbedded(e); err != nil {
				t.Fatal(err)
			}
			e = openTest(t, cfg)
			if o, end, _ := e.Bounds(ctx, 1); o != oldest || end != 20 {
				t.Fatalf("Bounds after reopen: got %d, %d; want %d, 20", o, end, oldest)
			}
			if first, err := e.Append(ctx, 1, [][]byte{bigRecord(20)}); err != nil || first != 20 {
				t.Fatalf("Append after retention and reopen: got %d, %v; want 20", first, err)
			}
		})
	}
}

// TestEmbeddedRetentionKeepsActiveSegment: everything old, but the active
// segment stays, so the end offset survives.
func TestEmbeddedRetentionKeepsActiveSegment(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	e, err := startEmbedded(EmbeddedConfig{Dir: t.TempDir(), Partitions: 1, SegmentSize: 1 << 10, RetentionAge: time.Hour, RetentionBytes: 1},
		nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopEmbedded(e) }()
	for i := range 5 {
		if _, err := e.Append(ctx, 0, [][]byte{bigRecord(i)}); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(48 * time.Hour)
	if err := e.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	segs := e.parts[0].log.Segments()
	if len(segs) != 1 || !segs[0].Active {
		t.Fatalf("after retention: got %+v; want only the active segment", segs)
	}
	if oldest, end, _ := e.Bounds(ctx, 0); oldest != 4 || end != 5 {
		t.Fatalf("Bounds: got %d, %d; want 4, 5", oldest, end)
	}
}
