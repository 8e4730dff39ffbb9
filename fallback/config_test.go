package fallback

import (
	"flag"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigFlagsDefaultsAndYAMLKeys(t *testing.T) {
	var wal WALConfig
	var sh ShipperConfig
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	wal.RegisterFlags(fs)
	sh.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if wal != (WALConfig{SegmentSize: 64 << 20}) {
		t.Errorf("WAL defaults %+v", wal)
	}
	if sh.MaxBacklogBytes != 8<<30 || sh.Health.CatchUpBytesPerS != 64<<20 || sh.Fault != FaultNone {
		t.Errorf("shipper defaults %+v", sh)
	}
	for _, name := range []string{"wal.sync-interval", "wal.segment-size", "shipper.max-backlog-bytes", "shipper.catch-up-bytes-per-second", "shipper.fault"} {
		if fs.Lookup(name) == nil || fs.Lookup(name).Usage == "" {
			t.Errorf("flag -%s missing or without usage", name)
		}
	}
	if err := fs.Parse([]string{"-wal.sync-interval", "1s", "-shipper.fault", "down"}); err != nil {
		t.Fatal(err)
	}
	if wal.SyncInterval != time.Second || sh.Fault != FaultDown {
		t.Errorf("after flags: %+v %+v", wal, sh)
	}

	var doc struct {
		WAL     WALConfig     `yaml:"wal"`
		Shipper ShipperConfig `yaml:"shipper"`
	}
	src := `
wal:
  sync_interval: 250ms
  segment_size: 2097152
shipper:
  max_backlog_bytes: 4194304
  catch_up_bytes_per_second: 1000
  fault: hang
`
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.WAL != (WALConfig{SyncInterval: 250 * time.Millisecond, SegmentSize: 2 << 20}) {
		t.Errorf("WAL from YAML %+v", doc.WAL)
	}
	if doc.Shipper.MaxBacklogBytes != 4<<20 || doc.Shipper.Health.CatchUpBytesPerS != 1000 || doc.Shipper.Fault != FaultHang {
		t.Errorf("shipper from YAML %+v", doc.Shipper)
	}
	for _, derived := range []string{"dir: x", "max_pending_bytes: 1"} {
		var w WALConfig
		if err := yaml.Unmarshal([]byte(derived), &w); err != nil || w != (WALConfig{}) {
			t.Errorf("YAML %q set %+v (%v); want it ignored", derived, w, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"1 MiB segments":       {(&WALConfig{SegmentSize: 1 << 20}).Validate(), ""},
		"small segments":       {(&WALConfig{SegmentSize: 1<<20 - 1}).Validate(), "-wal.segment-size 1048575 is below 1 MiB"},
		"negative sync":        {(&WALConfig{SegmentSize: 1 << 20, SyncInterval: -1}).Validate(), "-wal.sync-interval"},
		"no fault":             {(&ShipperConfig{}).Validate(), ""},
		"down":                 {(&ShipperConfig{Fault: FaultDown}).Validate(), ""},
		"unknown fault":        {(&ShipperConfig{Fault: "broken"}).Validate(), `-shipper.fault: unknown mode "broken"`},
		"slow without a delay": {(&ShipperConfig{Fault: FaultSlow}).Validate(), "-shipper.fault: slow"},
		"negative catch-up":    {(&ShipperConfig{Health: HealthConfig{CatchUpBytesPerS: -1}}).Validate(), "-shipper.catch-up-bytes-per-second"},
	} {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: %v; want nil", name, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
			t.Errorf("%s: %v; want an error containing %q", name, tc.err, tc.want)
		}
	}
}
