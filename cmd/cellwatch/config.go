package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/cluster"
	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/ingest"
	"github.com/cellwatch/cellwatch/query"
	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

// Config is everything cellwatch can be told, by flag or by the YAML file
// given with -config; a flag given on the command line wins over the file.
// Each component owns its part (its Config, RegisterFlags and Validate);
// this type only puts them together, and docs/configuration.md is generated
// from it (TestConfigReference).
type Config struct {
	NodeConfig  `yaml:",inline"`
	Auth        ingest.AuthConfig        `yaml:"auth"`
	Limits      ingest.LimitsConfig      `yaml:"limits"`
	RemoteWrite ingest.RemoteWriteConfig `yaml:"remote_write"`
	WAL         fallback.WALConfig       `yaml:"wal"`
	Store       store.LocalConfig        `yaml:"store"`
	Stream      stream.Config            `yaml:"stream"`
	Shipper     fallback.ShipperConfig   `yaml:"shipper"`
	Alarms      alerting.Config          `yaml:"alarms"`
	PromQL      query.PromConfig         `yaml:"query"`
	Cluster     cluster.Config           `yaml:"cluster"`
}

// NodeConfig is the part of Config that belongs to the node itself: where it
// listens, where its data lives, how it logs.
type NodeConfig struct {
	Listen      string `yaml:"listen"`
	AdminListen string `yaml:"admin_listen"`
	Data        string `yaml:"data"`
	LogLevel    string `yaml:"log_level"`
	AdminToken  string `yaml:"admin_token"`
}

// RegisterFlags binds the node's own settings to flags on fs.
func (c *NodeConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:4590", "address of the CloudWatch API (all protocols)")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:4591", "address of /metrics, /-/ready, /-/healthy and the admin API")
	fs.StringVar(&c.Data, "data", "./data", "directory of the node's WAL and state")
	fs.StringVar(&c.LogLevel, "log.level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.AdminToken, "admin.token", "", "when set, /admin/* needs the header Authorization: Bearer <token> (/metrics and /-/* stay open)")
}

// Validate checks the node's own settings.
func (c *NodeConfig) Validate() error {
	switch {
	case c.Listen == "":
		return errors.New("-listen is empty")
	case c.Data == "":
		return errors.New("-data is empty")
	}
	return nil
}

// flagRegisterer is a component config: it binds its settings to flags.
type flagRegisterer interface{ RegisterFlags(*flag.FlagSet) }

// validator is a component config that checks its settings.
type validator interface{ Validate() error }

// parts are the component configs of c, in the order of -help.
func (c *Config) parts() []flagRegisterer {
	return []flagRegisterer{&c.NodeConfig, &c.Auth, &c.Limits, &c.RemoteWrite, &c.WAL, &c.Store, &c.Stream, &c.Shipper, &c.Alarms, &c.PromQL, &c.Cluster}
}

// RegisterFlags binds every setting to a flag on fs, with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, p := range c.parts() {
		p.RegisterFlags(fs)
	}
}

// Validate checks every component's settings, then the rules that tie two
// components together.
func (c *Config) Validate() error {
	var errs []error
	for _, p := range c.parts() {
		if v, ok := p.(validator); ok {
			errs = append(errs, v.Validate())
		}
	}
	if c.Auth.CredentialsFile == "" && !c.Auth.Anonymous {
		for _, l := range []struct{ flag, addr string }{{"-listen", c.Listen}, {"-admin-listen", c.AdminListen}} {
			if !onLoopback(l.addr) {
				errs = append(errs, fmt.Errorf("%s %s is not on loopback, and without -auth.credentials anyone who reaches it could write: give -auth.credentials (the keys that may call the API) or -auth.anonymous", l.flag, l.addr))
			}
		}
	}
	if c.Cluster.Enabled() && c.Stream.Kind != stream.KindKafka {
		errs = append(errs, fmt.Errorf("cluster mode (-cluster.join or -cluster.bind-addr) needs -stream.kind %s: the nodes share one stream, and an embedded one belongs to one node", stream.KindKafka))
	}
	if c.Cluster.Enabled() && c.Cluster.APIAddr == "" {
		c.Cluster.APIAddr = c.Listen
	}
	if c.Cluster.Enabled() && c.AdminToken == "" && !onLoopback(c.Listen) {
		errs = append(errs, fmt.Errorf("cluster mode with -listen %s off loopback needs -admin.token: the nodes read each other's stores (every tenant's data) with it", c.Listen))
	}
	if c.Shipper.MaxBacklogBytes < 2*uint64(c.WAL.SegmentSize) {
		errs = append(errs, fmt.Errorf("-shipper.max-backlog-bytes %d must be at least two WAL segments (%d bytes): the backlog is dropped a segment at a time",
			c.Shipper.MaxBacklogBytes, 2*c.WAL.SegmentSize))
	}
	return errors.Join(errs...)
}

// loadConfig parses args; when -config names a file, the file is read over
// the defaults and then the flags given on the command line are applied again.
func loadConfig(name string, args []string) (*Config, error) {
	var cfg Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	configFile := fs.String("config", "", "YAML file with the same settings (flags given on the command line win)")
	fs.Usage = func() { printUsage(fs.Output(), name, fs) }
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
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&fromFile); err != nil && !errors.Is(err, io.EOF) {
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

// onLoopback reports whether addr (host:port) can only be reached from this
// machine.
func onLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// flagGroups names the flag prefixes of -help, in order: a flag belongs to
// the group of the text before its first dot.
var flagGroups = []struct{ prefix, title string }{
	{"", "Node"},
	{"log", "Logging"},
	{"auth", "Authentication (ingest)"},
	{"limits", "Request limits (ingest)"},
	{"remote-write", "Prometheus remote write (ingest)"},
	{"admin", "Admin API"},
	{"wal", "Write-ahead log (fallback)"},
	{"store", "Local store"},
	{"stream", "Embedded stream"},
	{"shipper", "Shipper: WAL to stream (fallback)"},
	{"alarms", "Alarms and notifications"},
	{"query", "Prometheus API (PromQL)"},
	{"cluster", "Cluster mode"},
}

// flagGroup returns the prefix of name's group.
func flagGroup(name string) string {
	prefix, _, found := strings.Cut(name, ".")
	if !found {
		return ""
	}
	return prefix
}

// printUsage writes -help: the commands, then the flags grouped by
// component.
func printUsage(w io.Writer, name string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n  %s [flags]          run a node\n  %s drill [flags]    run an outage drill (-help for its flags)\n", name, name)
	byGroup := map[string][]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) { byGroup[flagGroup(f.Name)] = append(byGroup[flagGroup(f.Name)], f) })
	for _, g := range flagGroups {
		flags := byGroup[g.prefix]
		delete(byGroup, g.prefix)
		printFlagGroup(w, g.title, flags)
	}
	rest := slices.Sorted(func(yield func(string) bool) {
		for k := range byGroup {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range rest {
		printFlagGroup(w, k, byGroup[k])
	}
}

func printFlagGroup(w io.Writer, title string, flags []*flag.Flag) {
	if len(flags) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, f := range flags {
		fmt.Fprintf(w, "  -%s %s\n    \t%s", f.Name, flagType(f), f.Usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

// flagType is the value's kind as -help shows it.
func flagType(f *flag.Flag) string {
	switch f.Value.(type) {
	case interface{ IsBoolFlag() bool }:
		return ""
	}
	kind, _ := flag.UnquoteUsage(f)
	if kind == "" {
		return "value"
	}
	return kind
}
