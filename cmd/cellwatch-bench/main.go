package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// bench is one run of the harness: its flags, environment and rows.
type bench struct {
	env
	out         io.Writer
	client      *http.Client
	shape       loadShape
	concurrency int
	duration    time.Duration
	profile     string
	floors      floors
	rows        []row
}

func (b *bench) add(r row) { b.rows = append(b.rows, r) }

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cellwatch-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cellwatch-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cacheDefault, _ := os.UserCacheDir()
	var (
		scenarios = fs.String("scenario", "put-json", "scenarios to run, comma-separated, or all: "+strings.Join(scenarioNames(), ", "))
		series    = fs.Int("series", 10000, "distinct series written")
		datums    = fs.Int("datums", 20, "datums per PutMetricData (1..1000) and series per remote-write request")
		res       = fs.Int("resolution", 60, "StorageResolution of the datums: 1 or 60")
		conc      = fs.Int("concurrency", 16, "concurrent connections")
		dur       = fs.Duration("duration", 10*time.Second, "length of each timed phase")
		cache     = fs.String("cache", filepath.Join(cacheDefault, "cellwatch-bench"), "directory of built binaries (cellwatch, peers); never inside the repo")
		repo      = fs.String("repo", ".", "the cellwatch module root (./cmd/cellwatch is built from it)")
		profile   = fs.String("profile", "", "cpu, heap or mutex: fetch the server's profile during each cellwatch scenario (needs /debug/pprof)")
		noPeers   = fs.Bool("no-peers", false, "run cellwatch only (no moto_server, Prometheus, VictoriaMetrics)")
		server    = fs.String("server.flags", "-limits.tenant-request-rate=0 -limits.tenant-datum-rate=0",
			"extra flags of every cellwatch node (space-separated); the default lifts the per-tenant rate limits, which would otherwise measure the throttle")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *datums < 1 || *datums > 1000 || (*res != 1 && *res != 60) || *conc < 1 || *series < 1 {
		return errors.New("need 1 <= -datums <= 1000, -resolution 1 or 60, -concurrency >= 1, -series >= 1")
	}
	names, err := pickScenarios(*scenarios)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(filepath.Join(*cache, "bin"), 0o755); err != nil {
		return fmt.Errorf("make cache dir: %w", err)
	}
	tmp, err := os.MkdirTemp("", "cellwatch-bench-")
	if err != nil {
		return fmt.Errorf("make temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	root, err := filepath.Abs(*repo)
	if err != nil {
		return fmt.Errorf("find repo: %w", err)
	}
	b := &bench{
		env: env{cache: *cache, repo: root, tmp: tmp, extra: strings.Fields(*server), skipped: map[string]error{},
			logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }},
		out: stdout, shape: loadShape{series: *series, datums: *datums, resolution: *res}, concurrency: *conc,
		duration: *dur, profile: *profile,
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2}},
	}
	if *noPeers {
		b.skipped["moto_server"], b.skipped["prometheus"], b.skipped["victoria-metrics"] = errNoPeers, errNoPeers, errNoPeers
	}
	start := time.Now()
	b.floors = b.measureFloors(ctx)
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		sc := scenarioByName(name)
		var pending errPending
		switch err := sc.run(b, ctx); {
		case errors.As(err, &pending):
			b.add(row{scenario: name, server: "cellwatch", note: "pending: " + err.Error()})
		case err != nil:
			b.add(row{scenario: name, server: "cellwatch", note: "failed: " + err.Error()})
		}
	}
	b.report(stdout, time.Since(start))
	return ctx.Err()
}

var errNoPeers = errors.New("-no-peers")

func pickScenarios(s string) ([]string, error) {
	if s == "all" {
		return scenarioNames(), nil
	}
	var names []string
	for n := range strings.SplitSeq(s, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(scenarioNames(), n) {
			return nil, fmt.Errorf("unknown scenario %q (have %s, all)", n, strings.Join(scenarioNames(), ", "))
		}
		names = append(names, n)
	}
	return names, nil
}

func cores() int { return runtime.NumCPU() }
