package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one load run measured.
type result struct {
	requests, datums, errors int64
	firstError               string
	elapsed                  time.Duration
	p50, p90, p99            time.Duration
}

func (r result) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.datums) / r.elapsed.Seconds()
}

// runLoad sends calls round-robin from concurrency connections to base for
// d (or until ctx ends), printing a progress line each second through
// progress. No request starts after d, and those in flight then are
// waited for, so every datum the server took is counted. A request counts
// when it is answered 2xx; other answers and transport errors are counted
// as errors.
func runLoad(ctx context.Context, client *http.Client, base string, calls []call, concurrency int, d time.Duration, progress func(string)) result {
	var (
		h              hist
		next, requests atomic.Int64
		datums, errs   atomic.Int64
		errOnce        sync.Once
		firstError     string
	)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				c := calls[int(next.Add(1)-1)%len(calls)]
				req, err := c.request(ctx, base)
				if err != nil {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstError = err.Error() })
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs.Add(1)
					errOnce.Do(func() { firstError = fmt.Sprintf("%d %s", resp.StatusCode, body) })
					continue
				}
				h.record(time.Since(t0))
				requests.Add(1)
				datums.Add(int64(c.datums))
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			el := time.Since(start)
			return result{requests: requests.Load(), datums: datums.Load(), errors: errs.Load(), firstError: firstError, elapsed: el,
				p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99)}
		case <-tick.C:
			el := time.Since(start).Seconds()
			progress(fmt.Sprintf("%5.0fs %10.0f datums/s  p50 %-8s p99 %-8s errors %d", el, float64(datums.Load())/el,
				fmtDur(h.quantile(0.5)), fmtDur(h.quantile(0.99)), errs.Load()))
		}
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
