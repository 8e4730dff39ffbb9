package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// floors are what this machine can do at best, measured by the harness.
type floors struct {
	fsync1M, fsync64K float64            // bytes/s of sequential write+fsync to the data disk
	decode            map[string]float64 // protocol → datums/s per core of only decoding the request bytes
}

const floorTime = 2 * time.Second

func (b *bench) measureFloors(ctx context.Context) floors {
	f := floors{decode: map[string]float64{}}
	var err error
	if f.fsync1M, err = diskFloor(b.tmp, 1<<20); err != nil {
		b.logf("disk floor: %v", err)
	}
	if f.fsync64K, err = diskFloor(b.tmp, 64<<10); err != nil {
		b.logf("disk floor: %v", err)
	}
	b.add(row{scenario: "floor", target: "write 1 MiB + fsync", server: "disk", unit: "MB/s", res: result{}, floor: f.fsync1M / 1e6, note: "sequential, temp dir's disk"})
	b.add(row{scenario: "floor", target: "write 64 KiB + fsync", server: "disk", unit: "MB/s", floor: f.fsync64K / 1e6, note: "group-commit sized"})
	ts := time.Now().Truncate(time.Minute)
	for _, p := range []string{"cbor", "json", "query"} {
		calls, err := b.putCalls(ctx, p, ts)
		if err != nil {
			b.logf("decode floor %s: %v", p, err)
			continue
		}
		rate, err := decodeFloor(calls)
		if err != nil {
			b.logf("decode floor %s: %v", p, err)
			continue
		}
		f.decode[p] = rate
		b.add(row{scenario: "floor", target: fmt.Sprintf("decode %s, %d datums/req", p, b.shape.datums), server: "internal/awsapi", unit: "datums/s/core", floor: rate})
	}
	return f
}

// diskFloor writes chunk-sized blocks, each followed by an fsync, for
// floorTime and returns bytes/s.
func diskFloor(dir string, chunk int) (float64, error) {
	path := filepath.Join(dir, fmt.Sprintf("floor-%d", chunk))
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create floor file: %w", err)
	}
	defer os.Remove(path)
	defer f.Close()
	buf := bytes.Repeat([]byte{0xa5}, chunk)
	var n int64
	start := time.Now()
	for time.Since(start) < floorTime && n < 1<<30 {
		if _, err := f.Write(buf); err != nil {
			return 0, fmt.Errorf("write floor file: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("fsync floor file: %w", err)
		}
		n += int64(chunk)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// decodeFloor decodes calls with the node's own decoder (gunzip included,
// as the node does) on one goroutine for floorTime: datums/s per core.
func decodeFloor(calls []call) (float64, error) {
	var datums int64
	start := time.Now()
	for i := 0; time.Since(start) < floorTime; i++ {
		c := calls[i%len(calls)]
		r := httptest.NewRequest("POST", c.path, bytes.NewReader(c.body))
		r.Header = c.header.Clone()
		req, aerr := awsapi.ReadRequest(r, awsapi.DefaultLimits, nil)
		if aerr != nil {
			return 0, fmt.Errorf("decode: %w", aerr)
		}
		if n := len(req.Input.Structs("MetricData")); n != c.datums {
			return 0, fmt.Errorf("decode: %d datums, want %d", n, c.datums)
		}
		datums += int64(c.datums)
	}
	return float64(datums) / time.Since(start).Seconds(), nil
}
