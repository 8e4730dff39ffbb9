package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cellwatch/cellwatch/fallback"
)

// Config is everything cellwatch can be told, by flag or by the YAML file
// given with -config. A flag given on the command line wins over the file.
type Config struct {
	Listen      string                 `yaml:"listen"`
	AdminListen string                 `yaml:"admin_listen"`
	Data        string                 `yaml:"data"`
	LogLevel    string                 `yaml:"log_level"`
	WAL         fallback.WALConfig     `yaml:"wal"`
	Store       StoreConfig            `yaml:"store"`
	Stream      StreamConfig           `yaml:"stream"`
	Shipper     fallback.ShipperConfig `yaml:"shipper"`
	Alarms      AlarmsConfig           `yaml:"alarms"`
}

// AlarmsConfig is the alarm notification part of Config.
type AlarmsConfig struct {
	NotifyTimeout    time.Duration `yaml:"notify_timeout"`
	NotifyBackoffMax time.Duration `yaml:"notify_backoff_max"`
	NotifyMaxEntries int           `yaml:"notify_max_entries"`
	NotifyMaxBytes   int64         `yaml:"notify_max_bytes"`
}

// StreamConfig is the embedded stream part of Config.
type StreamConfig struct {
	Partitions     int           `yaml:"partitions"`
	Retention      time.Duration `yaml:"retention"`
	RetentionBytes int64         `yaml:"retention_bytes"`
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
	c.WAL.RegisterFlags(fs)
	fs.Int64Var(&c.Store.MaxBytes, "store.max-bytes", 2<<30, "memory bound of the local store; PutMetricData answers 503 ServiceUnavailable when it is reached")
	fs.DurationVar(&c.Store.Window, "store.window", 3*time.Hour, "how much recent data the local store keeps")
	fs.IntVar(&c.Stream.Partitions, "stream.partitions", 8, "partitions of the embedded stream (fixed when the stream is created)")
	fs.DurationVar(&c.Stream.Retention, "stream.retention", 7*24*time.Hour, "how long the embedded stream keeps records")
	fs.Int64Var(&c.Stream.RetentionBytes, "stream.retention-bytes", 1<<30, "bytes the embedded stream keeps per partition")
	fs.DurationVar(&c.Alarms.NotifyTimeout, "alarms.notify-timeout", 5*time.Second, "time bound of one alarm notification attempt (webhook, Alertmanager)")
	fs.DurationVar(&c.Alarms.NotifyBackoffMax, "alarms.notify-backoff-max", 5*time.Minute, "cap of the per-target retry backoff of alarm notifications")
	fs.IntVar(&c.Alarms.NotifyMaxEntries, "alarms.notify-max-entries", 10_000, "alarm notifications kept undelivered; past it the oldest are dropped (counted, in alarm history)")
	fs.Int64Var(&c.Alarms.NotifyMaxBytes, "alarms.notify-max-bytes", 32<<20, "bytes of alarm notifications kept undelivered; past it the oldest are dropped")
	c.Shipper.RegisterFlags(fs)
}

// Validate checks the settings that flags cannot type-check.
func (c *Config) Validate() error {
	switch {
	case c.Listen == "":
		return errors.New("-listen is empty")
	case c.Data == "":
		return errors.New("-data is empty")
	}
	if err := c.WAL.Validate(); err != nil {
		return err
	}
	if err := c.Shipper.Validate(); err != nil {
		return err
	}
	switch {
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
