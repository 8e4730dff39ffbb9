package fallback

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mode is the node's health towards its stream (docs/design.md §7).
type Mode string

// The health modes.
const (
	// ModeHealthy: the stream acknowledges within its budget; the backlog is small.
	ModeHealthy Mode = "healthy"
	// ModeDegraded: the stream fails or is slower than its budget; the shipper
	// backs off, the backlog grows on local disk, reads and alarms go on locally.
	ModeDegraded Mode = "degraded"
	// ModeRecovering: the stream takes writes again and the backlog drains at
	// a bounded rate.
	ModeRecovering Mode = "recovering"
)

var modes = []Mode{ModeHealthy, ModeDegraded, ModeRecovering}

// HealthConfig tunes the circuit and the catch-up.
// Only CatchUpBytesPerS is a setting (-shipper.catch-up-bytes-per-second,
// in the shipper's YAML section).
type HealthConfig struct {
	AckBudget        time.Duration `yaml:"-"`                         // an append slower than this degrades the node; default 2 s
	CatchUpBytesPerS int64         `yaml:"catch_up_bytes_per_second"` // WAL bytes per second shipped while recovering; default 64 MiB/s
	RecoveredBacklog uint64        `yaml:"-"`                         // backlog at or below which recovering ends; default 4 MiB
}

func (c *HealthConfig) defaults() {
	if c.AckBudget <= 0 {
		c.AckBudget = 2 * time.Second
	}
	if c.CatchUpBytesPerS <= 0 {
		c.CatchUpBytesPerS = 64 << 20
	}
	if c.RecoveredBacklog == 0 {
		c.RecoveredBacklog = 4 << 20
	}
}

// health tracks the mode from the shipper's append results.
type health struct {
	cfg      HealthConfig
	mu       sync.Mutex
	mode     Mode
	since    time.Time
	lastErr  string
	onChange func(from, to Mode)
	gauge    *prometheus.GaugeVec

	inflight time.Time // when the append in flight began (zero: none)

	// token bucket of the catch-up rate
	tokens float64
	last   time.Time
}

func newHealth(cfg HealthConfig, gauge *prometheus.GaugeVec, onChange func(from, to Mode)) *health {
	cfg.defaults()
	h := &health{cfg: cfg, mode: ModeHealthy, since: time.Now(), gauge: gauge, onChange: onChange}
	h.publish()
	return h
}

func (h *health) publish() {
	for _, m := range modes {
		v := 0.0
		if m == h.mode {
			v = 1
		}
		h.gauge.WithLabelValues(string(m)).Set(v)
	}
}

func (h *health) set(to Mode) {
	if h.mode == to {
		return
	}
	from := h.mode
	h.mode, h.since = to, time.Now()
	h.publish()
	if h.onChange != nil {
		h.onChange(from, to)
	}
}

// begin records that an append to the stream started.
func (h *health) begin() {
	h.mu.Lock()
	h.inflight = time.Now()
	h.mu.Unlock()
}

// check degrades the node when an append has been in flight past the budget:
// a hanging or slow stream is known before its append ends.
func (h *health) check() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.inflight.IsZero() {
		if d := time.Since(h.inflight); d > h.cfg.AckBudget {
			h.lastErr = "stream has not answered an append for " + d.Round(time.Second).String()
			h.set(ModeDegraded)
		}
	}
}

// failed records a failed append: the circuit opens.
func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight = time.Time{}
	h.lastErr = err.Error()
	h.set(ModeDegraded)
}

// succeeded records an append that took d, with backlog bytes left.
func (h *health) succeeded(d time.Duration, backlog uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight = time.Time{}
	switch {
	case d > h.cfg.AckBudget:
		h.lastErr = "stream acknowledged after " + d.Round(time.Millisecond).String() + ", over the " + h.cfg.AckBudget.String() + " budget"
		h.set(ModeDegraded)
	case backlog > h.cfg.RecoveredBacklog:
		h.set(ModeRecovering)
	default:
		h.set(ModeHealthy)
	}
}

// state returns the mode, since when, and the last problem seen.
func (h *health) state() (Mode, time.Time, string) {
	h.check()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mode, h.since, h.lastErr
}

// pace waits, while recovering, until n more bytes may be shipped, so
// catch-up traffic leaves the node's cores and disk to live requests.
func (h *health) pace(ctx context.Context, n int) {
	h.mu.Lock()
	if h.mode != ModeRecovering {
		h.tokens, h.last = 0, time.Time{}
		h.mu.Unlock()
		return
	}
	now := time.Now()
	rate := float64(h.cfg.CatchUpBytesPerS)
	if !h.last.IsZero() {
		h.tokens = min(rate, h.tokens+now.Sub(h.last).Seconds()*rate) // at most one second of burst
	}
	h.last = now
	h.tokens -= float64(n)
	wait := time.Duration(-h.tokens / rate * float64(time.Second))
	h.mu.Unlock()
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
