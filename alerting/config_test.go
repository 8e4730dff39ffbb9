package alerting

import (
	"flag"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The flags and YAML keys are cmd's -alarms.* and alarms: ones.
func TestConfigFlagsAndYAML(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	for name, want := range map[string]string{
		"alarms.notify-timeout": "5s", "alarms.notify-backoff-max": "5m0s",
		"alarms.notify-max-entries": "10000", "alarms.notify-max-bytes": "33554432",
		"alarms.alertmanager-keepalive": "1m0s",
	} {
		f := fs.Lookup(name)
		if f == nil || f.DefValue != want {
			t.Errorf("flag %s: %+v; want default %s", name, f, want)
		}
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n != 5 {
		t.Errorf("%d flags; want the 5 notify ones", n)
	}
	in := "notify_timeout: 3s\nnotify_backoff_max: 1m\nnotify_max_entries: 7\nnotify_max_bytes: 1024\nalertmanager_keepalive: 30s\n"
	if err := yaml.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.Notify.Timeout != 3*time.Second || c.Notify.BackoffMax != time.Minute || c.Notify.MaxEntries != 7 || c.Notify.MaxBytes != 1024 || c.Notify.Keepalive != 30*time.Second {
		t.Errorf("yaml: %+v", c.Notify)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	c.Notify.MaxEntries = -1
	if c.Validate() == nil {
		t.Error("negative outbox bound validated")
	}
}
