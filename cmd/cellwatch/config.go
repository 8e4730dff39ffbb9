package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cellwatch/cellwatch/alerting"
)

// Config is everything cellwatch can be told, by flag or by the YAML file
// given with -config. A flag given on the command line wins over the file.
type Config struct {
	Listen      string          `yaml:"listen"`
	AdminListen string          `yaml:"admin_listen"`
	Data        string          `yaml:"data"`
	LogLevel    string          `yaml:"log_level"`
	WAL         WALConfig       `yaml:"wal"`
	Store       StoreConfig     `yaml:"store"`
	Stream      StreamConfig    `yaml:"stream"`
	Shipper     ShipperConfig   `yaml:"shipper"`
	Alarms      alerting.Config `yaml:"alarms"`
}

// StreamConfig is the embedded stream part of Config.
type StreamConfig struct {
	Partitions     int           `yaml:"partitions"`
	Retention      time.Duration `yaml:"retention"`
	RetentionBytes int64         `yaml:"retention_bytes"`
}

// ShipperConfig is the WAL-to-stream shipper part of Config.
type ShipperConfig struct {
	MaxBacklogBytes uint64 `yaml:"max_backlog_bytes"`
	CatchUpRate     int64  `yaml:"catch_up_bytes_per_second"`
	// Fault starts the node with a stream fault injected (drills, tests);
	// the admin API changes it later.
	Fault string `yaml:"fault"`
}

// WALConfig is the write-ahead log part of Config.
type WALConfig struct {
	SyncInterval time.Duration `yaml:"sync_interval"`
	SegmentSize  int64         `yaml:"segment_size"`
}

// StoreConfig is the local store part of Config.
type StoreConfig struct {
	MaxBytes int64         `yaml:"max_bytes"`
	Window   time.Duration `yaml:"window"`
}

// RegisterFlags binds every setting to a flag on fs, with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:4590", "address of the CloudWatch API (all protocols)")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:4591", "address of /metrics, /-/ready, /-/healthy and the admin API")
	fs.StringVar(&c.Data, "data", "./data", "directory of the node's WAL and state")
	fs.StringVar(&c.LogLevel, "log.level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.WAL.SyncInterval, "wal.sync-interval", 0, "0: fsync the WAL before every acknowledgement (group-committed); >0: acknowledge after write and fsync at this interval")
	fs.Int64Var(&c.WAL.SegmentSize, "wal.segment-size", 64<<20, "bytes per WAL segment")
	fs.Int64Var(&c.Store.MaxBytes, "store.max-bytes", 2<<30, "memory bound of the local store; PutMetricData answers 503 ServiceUnavailable when it is reached")
	fs.DurationVar(&c.Store.Window, "store.window", 3*time.Hour, "how much recent data the local store keeps")
	fs.IntVar(&c.Stream.Partitions, "stream.partitions", 8, "partitions of the embedded stream (fixed when the stream is created)")
	fs.DurationVar(&c.Stream.Retention, "stream.retention", 7*24*time.Hour, "how long the embedded stream keeps records")
	fs.Int64Var(&c.Stream.RetentionBytes, "stream.retention-bytes", 1<<30, "bytes the embedded stream keeps per partition")
	fs.Int64Var(&c.Shipper.CatchUpRate, "shipper.catch-up-bytes-per-second", 64<<20, "WAL bytes per second the shipper sends while a backlog drains, leaving the rest of the node to live requests")
	fs.StringVar(&c.Shipper.Fault, "shipper.fault", "", "start with this stream fault injected (down, hang, flaky; for drills): the admin API clears it")
	c.Alarms.RegisterFlags(fs)
	fs.Uint64Var(&c.Shipper.MaxBacklogBytes, "shipper.max-backlog-bytes", 8<<30, "unshipped WAL bytes kept while the stream is down; past it the oldest are dropped and reported as a gap")
}

// Validate checks the settings that flags cannot type-check.
func (c *Config) Validate() error {
	switch {
	case c.Listen == "":
		return errors.New("-listen is empty")
	case c.Data == "":
		return errors.New("-data is empty")
	case c.WAL.SegmentSize < 1<<20:
		return fmt.Errorf("-wal.segment-size %d is below 1 MiB", c.WAL.SegmentSize)
	case c.Store.MaxBytes <= 0:
		return fmt.Errorf("-store.max-bytes %d must be positive", c.Store.MaxBytes)
	case c.Store.Window < time.Minute:
		return fmt.Errorf("-store.window %s is below one minute", c.Store.Window)
	case c.Stream.Partitions < 1 || c.Stream.Partitions > 1024:
		return fmt.Errorf("-stream.partitions %d must be between 1 and 1024", c.Stream.Partitions)
	case c.Shipper.MaxBacklogBytes < 2*uint64(c.WAL.SegmentSize):
		return fmt.Errorf("-shipper.max-backlog-bytes %d must be at least two WAL segments (%d bytes): the backlog is dropped a segment at a time",
			c.Shipper.MaxBacklogBytes, 2*c.WAL.SegmentSize)
	}
	return nil
}

// loadConfig parses args; when -config names a file, the file is read over
// the defaults and then the flags given on the command line are applied again.
func loadConfig(name string, args []string) (*Config, error) {
	var cfg Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	configFile := fs.String("config", "", "YAML file with the same settings (flags given on the command line win)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configFile != "" {
		var fromFile Config
		fileFlags := flag.NewFlagSet(name, flag.ContinueOnError)
		fromFile.RegisterFlags(fileFlags) // defaults
		raw, err := os.ReadFile(*configFile)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := yaml.Unmarshal(raw, &fromFile); err != nil {
			return nil, fmt.Errorf("parse config %s: %w", *configFile, err)
		}
		var setErr error
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "config" && setErr == nil {
				setErr = fileFlags.Set(f.Name, f.Value.String())
			}
		})
		if setErr != nil {
			return nil, setErr
		}
		cfg = fromFile
	}
	return &cfg, cfg.Validate()
}
