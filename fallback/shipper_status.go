package fallback

import (
	"sync"
	"time"
)

// ShipperStatus is what the shipper reports to operators (/admin/status).
type ShipperStatus struct {
	Mode               Mode      `json:"mode"`
	ModeSince          time.Time `json:"mode_since"`
	LastError          string    `json:"last_error,omitempty"`
	WALFirstOffset     uint64    `json:"wal_first_offset"`
	WALEndOffset       uint64    `json:"wal_end_offset"`
	ShippedOffset      uint64    `json:"shipped_offset"`
	BacklogBytes       uint64    `json:"backlog_bytes"`
	BacklogRecords     uint64    `json:"backlog_records"` // estimated from the mean record size
	OldestUnshippedAge float64   `json:"oldest_unshipped_age_seconds"`
	CatchUpETA         float64   `json:"catch_up_eta_seconds"` // -1 while the stream takes nothing
	DroppedBytes       uint64    `json:"dropped_bytes"`
	GapPending         bool      `json:"gap_pending"`
	Fault              Fault     `json:"fault"`
}

// endSamples remembers when the WAL reached which offset, so the age of the
// oldest unshipped byte can be told without reading the WAL. It keeps at
// most maxSamples, thinning the old half when full: fine-grained for recent
// time, coarser for old, bounded always.
type endSamples struct {
	mu      sync.Mutex
	samples []endSample
}

type endSample struct {
	end uint64
	at  time.Time
}

const maxSamples = 1024

func (e *endSamples) add(end uint64, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := len(e.samples); n > 0 && e.samples[n-1].end == end {
		return // nothing written since: the previous sample still dates this offset
	}
	if len(e.samples) == maxSamples {
		kept := e.samples[:0]
		for i, s := range e.samples {
			if i >= maxSamples/2 || i%2 == 0 {
				kept = append(kept, s)
			}
		}
		e.samples = kept
	}
	e.samples = append(e.samples, endSample{end, at})
}

// writtenAfter returns a time before which every byte at or past offset was
// still unwritten: the time of the newest sample at or below offset.
func (e *endSamples) writtenAfter(offset uint64) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var t time.Time
	found := false
	for _, s := range e.samples {
		if s.end > offset {
			break
		}
		t, found = s.at, true
	}
	return t, found
}

// drop forgets samples below offset, which is shipped.
func (e *endSamples) drop(offset uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := 0
	for i+1 < len(e.samples) && e.samples[i+1].end <= offset {
		i++
	}
	e.samples = e.samples[i:]
}

// rate is an exponentially weighted moving average of shipped bytes per second.
type rate struct {
	mu     sync.Mutex
	bps    float64
	last   time.Time
	recent bool
}

func (r *rate) observe(bytes int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() {
		if dt := at.Sub(r.last).Seconds(); dt > 0 {
			inst := float64(bytes) / dt
			if !r.recent {
				r.bps = inst
			} else {
				r.bps = 0.8*r.bps + 0.2*inst
			}
			r.recent = true
		}
	}
	r.last = at
}

func (r *rate) perSecond() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bps
}
