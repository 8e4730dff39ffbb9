package logs

import (
	"context"
	"math"

	"github.com/cellwatch/cellwatch/store"
)

// incarnationReader hides the events of a stream's earlier lives. A
// deleted stream's events are forgotten at once in the stores, but events
// still on their way (in the WAL's backlog, in the stream, in a consumer's
// batch) reach the long-term store after that; a stream created again
// under the same name must not show them. Every event carries its
// ingestion time, so a stream shows only the events ingested since it was
// created, and a stream that no longer exists shows none.
type incarnationReader struct {
	Reader
	meta *metaStore
}

// ScanLogs scans s, keeping the events of the stream as it is now. The
// caller must not hold meta.mu.
func (r incarnationReader) ScanLogs(ctx context.Context, s store.LogScan, fn func(*store.LogEvent) bool) ([]store.Interval, error) {
	since := r.createdMs(s.Tenant, s.Group, s.Stream)
	return r.Reader.ScanLogs(ctx, s, func(e *store.LogEvent) bool {
		if e.Ingestion < since {
			return true
		}
		return fn(e)
	})
}

// createdMs is when the stream was created (math.MaxInt64 when it does
// not exist).
func (r incarnationReader) createdMs(tenant, group, stream string) int64 {
	r.meta.mu.Lock()
	defer r.meta.mu.Unlock()
	if g := r.meta.group(tenant, group); g != nil {
		if st := g.streams[stream]; st != nil {
			return st.Created
		}
	}
	return math.MaxInt64
}
