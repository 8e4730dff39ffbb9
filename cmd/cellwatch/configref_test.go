package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the Config structs")

const configDoc = "../../docs/configuration.md"

// TestConfigReference keeps docs/configuration.md what the structs say.
func TestConfigReference(t *testing.T) {
	got, err := configReference()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(configDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s is out of date: run go test ./cmd/cellwatch -run TestConfigReference -update", configDoc)
	}
}

// TestConfigReferenceYAMLLoads: the file of defaults the reference shows
// loads, and gives the same configuration as no file at all.
func TestConfigReferenceYAMLLoads(t *testing.T) {
	doc, err := configReference()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("no yaml block in the reference")
	}
	file := filepath.Join(t.TempDir(), "cellwatch.yaml")
	if err := os.WriteFile(file, []byte(m[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := loadConfig("test", []string{"-config", file})
	if err != nil {
		t.Fatalf("load the reference's yaml: %v", err)
	}
	defaults, err := loadConfig("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Compared as YAML: an empty list and no list are the same setting.
	got, err1 := yaml.Marshal(fromFile)
	want, err2 := yaml.Marshal(defaults)
	if err1 != nil || err2 != nil || string(got) != string(want) {
		t.Errorf("the reference's yaml gives\n%s\nwant the defaults\n%s", got, want)
	}
	for _, key := range []string{"listen:", "wal:", "store:", "stream:", "shipper:", "alarms:", "sync_interval:", "notify_timeout:"} {
		if !strings.Contains(m[1], key) {
			t.Errorf("the reference's yaml has no %q", key)
		}
	}
}

func TestHelpGroupsFlagsByComponent(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("cellwatch", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	var b strings.Builder
	printUsage(&b, "cellwatch", fs)
	help := b.String()
	group := ""
	seen := map[string]string{}
	for line := range strings.SplitSeq(help, "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
			group = strings.TrimSuffix(line, ":")
		}
		if name, ok := strings.CutPrefix(line, "  -"); ok {
			name, _, _ = strings.Cut(name, " ")
			seen[name] = group
		}
	}
	titles := map[string]string{}
	for _, g := range flagGroups {
		titles[g.prefix] = g.title
	}
	fs.VisitAll(func(f *flag.Flag) {
		if got, want := seen[f.Name], titles[flagGroup(f.Name)]; got != want {
			t.Errorf("-%s is listed under %q; want %q", f.Name, got, want)
		}
	})
	if !strings.Contains(help, "(default 127.0.0.1:4590)") {
		t.Errorf("help shows no defaults:\n%s", help)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		yaml string
		want string
	}{
		"window below a minute":  {args: []string{"-store.window", "1s"}, want: "-store.window 1s is below one minute"},
		"store without memory":   {args: []string{"-store.max-bytes", "0"}, want: "-store.max-bytes 0 must be positive"},
		"tiny wal segments":      {args: []string{"-wal.segment-size", "1000"}, want: "-wal.segment-size 1000 is below 1 MiB"},
		"no partitions":          {args: []string{"-stream.partitions", "0"}, want: "-stream.partitions 0 must be between 1 and 1024"},
		"backlog below two segs": {args: []string{"-shipper.max-backlog-bytes", "1024"}, want: "must be at least two WAL segments"},
		"empty listen":           {args: []string{"-listen", ""}, want: "-listen is empty"},
		"unknown yaml key":       {yaml: "store:\n  windwo: 2h\n", want: "field windwo not found"},
		"yaml of the wrong type": {yaml: "stream:\n  partitions: many\n", want: "cannot unmarshal"},
		"two errors, both named": {args: []string{"-store.window", "1s", "-wal.segment-size", "1"}, want: "-wal.segment-size 1 is below 1 MiB"},
		"unexpected argument":    {args: []string{"serve"}, want: `unexpected argument "serve"`},
	} {
		t.Run(name, func(t *testing.T) {
			args := tc.args
			if tc.yaml != "" {
				file := filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-config", file)
			}
			_, err := loadConfig("test", args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
