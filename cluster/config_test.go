package cluster

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if c.Enabled() {
		t.Error("the defaults enable cluster mode; want it off")
	}
	if c.BindPort != DefaultBindPort || c.HeartbeatPeriod != DefaultHeartbeatPeriod || c.HeartbeatTimeout != DefaultHeartbeatTimeout || c.NodeID != "" {
		t.Errorf("defaults %+v", c)
	}
	err := fs.Parse([]string{
		"-cluster.join", "10.0.0.1:7946, 10.0.0.2:7946", "-cluster.join", "10.0.0.3:7946",
		"-cluster.zone", "b", "-cluster.node-id", "n1", "-cluster.api-addr", "10.0.0.9:9090",
		"-cluster.tenant-shard-size", "3", "-cluster.heartbeat-period", "2s", "-cluster.heartbeat-timeout", "30s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946"}; !slices.Equal(c.Join, want) {
		t.Errorf("join %q; want %q", c.Join, want)
	}
	if !c.Enabled() || c.Zone != "b" || c.NodeID != "n1" || c.APIAddr != "10.0.0.9:9090" || c.TenantShardSize != 3 ||
		c.HeartbeatPeriod != 2*time.Second || c.HeartbeatTimeout != 30*time.Second {
		t.Errorf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	if on := (Config{BindAddr: "0.0.0.0"}); !on.Enabled() {
		t.Error("a bind address alone does not enable cluster mode")
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{NodeID: "n", BindAddr: "127.0.0.1", HeartbeatPeriod: time.Second, HeartbeatTimeout: time.Minute}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string // part of the error; "" for none
	}{
		"good":                      {func(*Config) {}, ""},
		"no node id: the host name": {func(c *Config) { c.NodeID = "" }, ""},
		"not enabled: unchecked":    {func(c *Config) { c.BindAddr, c.BindPort = "", -1 }, ""},
		"bad port":                  {func(c *Config) { c.BindPort = 70000 }, "bind-port"},
		"negative shard":            {func(c *Config) { c.TenantShardSize = -1 }, "tenant-shard-size"},
		"no heartbeat":              {func(c *Config) { c.HeartbeatPeriod = 0 }, "heartbeat-period"},
		"timeout too short":         {func(c *Config) { c.HeartbeatTimeout = c.HeartbeatPeriod }, "heartbeat-timeout"},
		"join without a port":       {func(c *Config) { c.Join = Addrs{"peer"} }, "no port"},
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("validate: %v; want an error about %q", err, tc.want)
			}
			if _, err := New(c, nil, nil); tc.want != "" && err == nil {
				t.Error("New accepted a config Validate refuses")
			}
		})
	}
}
