package alerting

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cellwatch/cellwatch/alerting/notify"
)

// Config configures the alarm store, its evaluator and its notifications.
// Its YAML is cmd's "alarms:" section; the fields cmd sets from other
// settings carry yaml:"-" and have no flag.
type Config struct {
	Dir            string           `yaml:"-"` // the alarm database's directory, e.g. <data>/alarms
	MaxAlarms      int              `yaml:"-"` // per tenant, both types; over it PutMetricAlarm is LimitExceeded (default 100,000)
	Now            func() time.Time `yaml:"-"` // clock (default time.Now)
	Reader         Reader           `yaml:"-"` // where the evaluator reads datapoints; nil: it evaluates nothing
	EvalDelay      time.Duration    `yaml:"-"` // how long after a period boundary an alarm is evaluated (default 10 s)
	EvalTickPeriod time.Duration    `yaml:"-"` // how often the evaluator looks for due alarms (default 10 s)
	// In a cluster: this node's name, which versions its writes, and
	// which alarms it evaluates (nil: all). Owns decides metric alarms'
	// evaluation and composite alarms' re-evaluation on a child's change.
	NodeID string                              `yaml:"-"`
	Owns   func(tenant, alarmName string) bool `yaml:"-"`

	Notify notify.Config `yaml:",inline"` // notify_timeout, notify_backoff_max, notify_max_entries, notify_max_bytes, alertmanager_keepalive
}

// RegisterFlags binds the settings to their -alarms.* flags, with defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Notify.RegisterFlagsWithPrefix("alarms.", fs)
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.MaxAlarms < 0 || c.EvalDelay < 0 || c.EvalTickPeriod < 0 {
		return errors.New("alarm limits and evaluation periods must not be negative")
	}
	if err := c.Notify.Validate(); err != nil {
		return fmt.Errorf("validate alarm notifications: %w", err)
	}
	return nil
}

// withDefaults returns c with its zero fields defaulted.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxAlarms <= 0 {
		c.MaxAlarms = 100_000
	}
	if c.EvalDelay <= 0 {
		c.EvalDelay = 10 * time.Second
	}
	if c.EvalTickPeriod <= 0 {
		c.EvalTickPeriod = 10 * time.Second
	}
	return c
}
