package main

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

var droppedMetric = regexp.MustCompile(`(?m)^cellwatch_shipper_dropped_bytes_total (\S+)$`)

// TestBacklogOverItsCapIsDroppedAndCounted: with the stream down and a small
// cap, the oldest unshipped WAL data is dropped, and the drop shows on
// /admin/status and /metrics.
func TestBacklogOverItsCapIsDroppedAndCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few MiB")
	}
	tn := startNode(t, testConfig(t, t.TempDir(), "-shipper.fault", "down", "-wal.segment-size", "1048576", "-shipper.max-backlog-bytes", "2097152"))
	cw := tn.sdk()
	for tn.adminStatus(t).WALEndOffset < 5<<20 {
		putLatencies(t, cw, "Cap", 200)
	}
	waitFor(t, 10*time.Second, "the cap to be enforced", func() bool { return tn.adminStatus(t).BacklogBytes <= 3<<20 })
	st := tn.adminStatus(t)
	if st.DroppedBytes == 0 || !st.GapPending {
		t.Errorf("status after the cap: dropped %d bytes, gap pending %v; want a drop and a pending gap marker", st.DroppedBytes, st.GapPending)
	}
	_, body := tn.admin(t, "GET", "/metrics", nil)
	m := droppedMetric.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("/metrics lacks cellwatch_shipper_dropped_bytes_total")
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v != float64(st.DroppedBytes) {
		t.Errorf("/metrics says %v bytes dropped, /admin/status %d", v, st.DroppedBytes)
	}
	if code, _ := tn.admin(t, "DELETE", "/admin/stream/fault", nil); code != 200 {
		t.Fatal("clear fault")
	}
	waitFor(t, 60*time.Second, "the gap marker to ship and the backlog to drain", func() bool {
		st := tn.adminStatus(t)
		return !st.GapPending && st.BacklogBytes == 0 && tn.caughtUp(t)
	})
}
