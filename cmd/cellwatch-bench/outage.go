package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// outage writes the shape in JSON 1.0 to a node while its stream is
// healthy, then faulted (down, through the admin API), then cleared, and
// reports each phase and the time the backlog takes to drain once the
// fault is cleared (WAL backlog shipped and the consumer caught up).
func (b *bench) outage(ctx context.Context) error {
	s, calls, err := b.nodeWith(ctx, "json", time.Now().Truncate(time.Second), false)
	if err != nil {
		return err
	}
	defer s.stop()
	phase := b.duration / 2
	healthy := b.measure(ctx, "outage", "healthy stream", s, calls, phase)
	if err := b.admin(ctx, s, http.MethodPost, "/admin/stream/fault?mode=down"); err != nil {
		return err
	}
	faulted := b.measure(ctx, "outage", "stream down", s, calls, phase)
	st, _ := b.status(ctx, s)
	if err := b.admin(ctx, s, http.MethodDelete, "/admin/stream/fault"); err != nil {
		return err
	}
	cleared := time.Now()
	recovering := b.measure(ctx, "outage", "fault cleared, backlog draining", s, calls, phase)
	err = b.waitDrained(ctx, s, 2*time.Minute)
	healthy.bytesPerDatum, faulted.bytesPerDatum = 0, 0
	faulted.note = fmt.Sprintf("backlog at clear %.1f MB; p99 %.2f× healthy", float64(st.BacklogBytes)/1e6, ratio(faulted.res.p99, healthy.res.p99))
	if err != nil {
		recovering.note = "not drained: " + err.Error()
	} else {
		recovering.note = fmt.Sprintf("drained %.1fs after the clear (under load for %s)", time.Since(cleared).Seconds(), phase)
	}
	b.add(healthy)
	b.add(faulted)
	b.add(recovering)
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// nodeStatus is the part of /admin/status the harness reads.
type nodeStatus struct {
	BacklogBytes uint64 `json:"backlog_bytes"`
	ConsumerLag  int64  `json:"consumer_lag_records"`
	Mode         string `json:"mode"`
}

func (b *bench) status(ctx context.Context, s *server) (nodeStatus, error) {
	var st nodeStatus
	resp, err := b.get(ctx, s.admin+"/admin/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode status: %w", err)
	}
	return st, nil
}

// waitDrained polls the node's status until no backlog and no consumer lag
// are left, for at most limit.
func (b *bench) waitDrained(ctx context.Context, s *server, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := b.status(ctx, s)
		if err == nil && st.BacklogBytes == 0 && st.ConsumerLag == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: backlog %d bytes, consumer lag %d records", limit, st.BacklogBytes, st.ConsumerLag)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// admin sends a request to the node's admin API.
func (b *bench) admin(ctx context.Context, s *server, method, path string) error {
	req, err := http.NewRequestWithContext(ctx, method, s.admin+path, nil)
	if err != nil {
		return fmt.Errorf("build admin request: %w", err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin %s %s: status %d", method, path, resp.StatusCode)
	}
	return nil
}
