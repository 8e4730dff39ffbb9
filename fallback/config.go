package fallback

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/grafana/dskit/backoff"
)

// WALConfig configures the write-ahead log. SegmentSize and SyncInterval are
// settings (flags -wal.*, YAML); cmd derives Dir, and MaxPendingBytes keeps
// its default outside tests.
type WALConfig struct {
	// Dir holds the segments, NODE_ID and LOCK; created if missing.
	Dir string `yaml:"-"`
	// SegmentSize is the size after which the active segment is closed and a
	// new one started. A segment exceeds it only to hold a single record
	// larger than SegmentSize. 0 means DefaultSegmentSize.
	SegmentSize int64 `yaml:"segment_size"`
	// SyncInterval selects the durability policy. 0 (default): Append returns
	// after the record is fsynced; concurrent appends share one fsync (group
	// commit). >0: Append returns after write(2); the writer fsyncs every
	// SyncInterval, so an OS crash may lose up to SyncInterval of
	// acknowledged records (a process crash loses nothing).
	SyncInterval time.Duration `yaml:"sync_interval"`
	// MaxPendingBytes bounds the bytes of records queued for, or being
	// written by, the writer. Append waits (respecting its context) while the
	// bound is exceeded. 0 means DefaultMaxPendingBytes.
	MaxPendingBytes int64 `yaml:"-"`
}

// RegisterFlags binds the WAL's settings to flags on fs, with their defaults.
func (c *WALConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.SyncInterval, "wal.sync-interval", 0, "0: fsync the WAL before every acknowledgement (group-committed); >0: acknowledge after write and fsync at this interval")
	fs.Int64Var(&c.SegmentSize, "wal.segment-size", DefaultSegmentSize, "bytes per WAL segment")
}

// Validate checks the settings as a user gives them (flags, YAML). NewWAL
// checks only what it cannot work without, so tests may use small segments.
func (c *WALConfig) Validate() error {
	switch {
	case c.SegmentSize < 1<<20:
		return fmt.Errorf("-wal.segment-size %d is below 1 MiB", c.SegmentSize)
	case c.SyncInterval < 0:
		return fmt.Errorf("-wal.sync-interval %s is negative", c.SyncInterval)
	}
	return nil
}

// ShipperConfig configures the shipper. MaxBacklogBytes, the catch-up rate
// (Health.CatchUpBytesPerS) and Fault are settings (flags -shipper.*, YAML);
// cmd derives StateFile and the rest keeps its defaults outside tests.
type ShipperConfig struct {
	StateFile       string         `yaml:"-"`                 // where the shipped offset and a pending gap are kept
	MaxBatchBytes   int            `yaml:"-"`                 // WAL bytes read into one batch; default 1 MiB
	Linger          time.Duration  `yaml:"-"`                 // how long a batch waits for more records; default 5 ms
	MaxBacklogBytes uint64         `yaml:"max_backlog_bytes"` // unshipped WAL bytes kept for the stream; past it the oldest are dropped; default 8 GiB
	AppendTimeout   time.Duration  `yaml:"-"`                 // bound on one Append to the stream; default 10 s
	Backoff         backoff.Config `yaml:"-"`
	Health          HealthConfig   `yaml:",inline"`
	// Fault is the stream fault the node starts with (drills, tests); the
	// shipper does not read it: cmd sets it on the FaultyStream the shipper
	// appends to, and the admin API changes it later.
	Fault FaultMode `yaml:"fault"`
}

// RegisterFlags binds the shipper's settings to flags on fs, with their
// defaults.
func (c *ShipperConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Uint64Var(&c.MaxBacklogBytes, "shipper.max-backlog-bytes", 8<<30, "unshipped WAL bytes kept while the stream is down; past it the oldest are dropped and reported as a gap")
	fs.Int64Var(&c.Health.CatchUpBytesPerS, "shipper.catch-up-bytes-per-second", 64<<20, "WAL bytes per second the shipper sends while a backlog drains, leaving the rest of the node to live requests")
	fs.StringVar((*string)(&c.Fault), "shipper.fault", "", "start with this stream fault injected (down, hang, flaky; for drills): the admin API clears it")
}

// Validate checks the settings as a user gives them (flags, YAML).
func (c *ShipperConfig) Validate() error {
	switch {
	case c.Health.CatchUpBytesPerS < 0:
		return fmt.Errorf("-shipper.catch-up-bytes-per-second %d is negative", c.Health.CatchUpBytesPerS)
	case c.Fault == FaultSlow:
		return errors.New("-shipper.fault: slow needs a delay; set it with the admin API")
	}
	if err := (Fault{Mode: c.Fault}).validate(); err != nil {
		return fmt.Errorf("-shipper.fault: %w", err)
	}
	return nil
}

func (c *ShipperConfig) defaults() {
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = 1 << 20
	}
	if c.Linger <= 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.MaxBacklogBytes == 0 {
		c.MaxBacklogBytes = 8 << 30
	}
	if c.AppendTimeout <= 0 {
		c.AppendTimeout = 10 * time.Second
	}
	if c.Backoff.MinBackoff <= 0 {
		// A down stream is probed at least every 5 s: one append, cheap, and
		// the backlog starts draining within 5 s of the stream's return.
		c.Backoff = backoff.Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}
	}
	c.Backoff.MaxRetries = 0 // the shipper never gives up; the backlog cap bounds what waits
}
