package notify

import (
	"errors"
	"flag"
	"time"
)

// Config configures the outbox and its deliveries.
type Config struct {
	Timeout    time.Duration `yaml:"notify_timeout"`         // one delivery attempt
	BackoffMin time.Duration `yaml:"-"`                      // first retry wait per target, doubling (default 1 s)
	BackoffMax time.Duration `yaml:"notify_backoff_max"`     // retry wait cap
	MaxEntries int           `yaml:"notify_max_entries"`     // outbox bound in entries; the oldest are dropped
	MaxBytes   int64         `yaml:"notify_max_bytes"`       // outbox bound in bytes
	Workers    int           `yaml:"-"`                      // deliveries in flight at once (default 4)
	Keepalive  time.Duration `yaml:"alertmanager_keepalive"` // re-send period of alerts firing at Alertmanagers
}

// Defaults of Config.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 5 * time.Minute
	DefaultMaxEntries = 10_000
	DefaultMaxBytes   = 32 << 20
	DefaultWorkers    = 4
	DefaultKeepalive  = time.Minute
)

// RegisterFlagsWithPrefix binds the settings to flags named prefix +
// "notify-timeout" and so on, with their defaults.
func (c *Config) RegisterFlagsWithPrefix(prefix string, fs *flag.FlagSet) {
	fs.DurationVar(&c.Timeout, prefix+"notify-timeout", DefaultTimeout, "time bound of one alarm notification attempt (webhook, Alertmanager)")
	fs.DurationVar(&c.BackoffMax, prefix+"notify-backoff-max", DefaultBackoffMax, "cap of the per-target retry backoff of alarm notifications")
	fs.DurationVar(&c.Keepalive, prefix+"alertmanager-keepalive", DefaultKeepalive, "how often an alarm in ALARM is re-sent to its Alertmanager targets, with endsAt four periods ahead, so that Alertmanager keeps it firing (keep it well under Alertmanager's resolve_timeout)")
	fs.IntVar(&c.MaxEntries, prefix+"notify-max-entries", DefaultMaxEntries, "alarm notifications kept undelivered; past it the oldest are dropped (counted, in alarm history)")
	fs.Int64Var(&c.MaxBytes, prefix+"notify-max-bytes", DefaultMaxBytes, "bytes of alarm notifications kept undelivered; past it the oldest are dropped")
}

// Validate checks the settings; zero values of the unset fields take their
// defaults in New.
func (c *Config) Validate() error {
	switch {
	case c.Timeout < 0, c.BackoffMin < 0, c.BackoffMax < 0, c.Keepalive < 0:
		return errors.New("notification timeout, backoff and keepalive must not be negative")
	case c.MaxEntries < 0, c.MaxBytes < 0, c.Workers < 0:
		return errors.New("notification outbox bounds must not be negative")
	}
	return nil
}

// withDefaults returns c with its zero fields defaulted.
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffMin)
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Keepalive <= 0 {
		c.Keepalive = DefaultKeepalive
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	return c
}
