package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// Peer versions: Prometheus 3.16 and the VictoriaMetrics release the
// project compares with (docs/benchmarks.md).
const (
	prometheusModule = "github.com/prometheus/prometheus/cmd/prometheus@v0.316.0"
	victoriaModule   = "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0"
)

// env is where binaries are built and temp dirs go.
type env struct {
	cache   string // built binaries: <cache>/bin
	repo    string // the module root (to build ./cmd/cellwatch)
	tmp     string // per-run temp root
	logf    func(format string, args ...any)
	extra   []string // flags added to every cellwatch run
	built   string   // path of the built cellwatch, once built
	skipped map[string]error
}

// cellwatchBin builds ./cmd/cellwatch into the cache once per run.
func (e *env) cellwatchBin(ctx context.Context) (string, error) {
	if e.built != "" {
		return e.built, nil
	}
	out := filepath.Join(e.cache, "bin", "cellwatch")
	e.logf("building cellwatch into %s", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/cellwatch")
	cmd.Dir = e.repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cellwatch: %w: %s", err, b)
	}
	e.built = out
	return out, nil
}

// peerBin is a peer's binary in the cache, installed with go install the
// first time (minutes on 2 cores; kept for later runs).
func (e *env) peerBin(ctx context.Context, name, module string) (string, error) {
	if err, ok := e.skipped[name]; ok {
		return "", err
	}
	bin := filepath.Join(e.cache, "bin", name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	e.logf("installing %s into %s (one time; takes minutes)", module, filepath.Dir(bin))
	cmd := exec.CommandContext(ctx, "go", "install", module)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(e.cache, "bin"), "GOFLAGS=-mod=mod")
	cmd.Dir = e.cache // outside the repo: not this module's go.mod
	if b, err := cmd.CombinedOutput(); err != nil {
		err = fmt.Errorf("go install %s: %w: %s", module, err, tail1(b))
		e.skipped[name] = err
		return "", err
	}
	return bin, nil
}

func tail1(b []byte) string {
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return string(b)
}

// newDir is a fresh directory under the run's temp root.
func (e *env) newDir(name string) (string, error) {
	dir, err := os.MkdirTemp(e.tmp, name+"-")
	if err != nil {
		return "", fmt.Errorf("make temp dir: %w", err)
	}
	return dir, os.MkdirAll(filepath.Join(dir, "data"), 0o755)
}

// startCellwatch runs a fresh node with its defaults on free ports.
func (e *env) startCellwatch(ctx context.Context, extra ...string) (*server, error) {
	bin, err := e.cellwatchBin(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := e.newDir("cellwatch")
	if err != nil {
		return nil, err
	}
	api, err1 := freePort()
	admin, err2 := freePort()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	args := append([]string{"-data", filepath.Join(dir, "data"), "-listen", api, "-admin-listen", admin, "-log.level", "warn"}, e.extra...)
	args = append(args, extra...)
	return startServer(ctx, "cellwatch", bin, args, dir, "http://"+api, "http://"+admin, "http://"+admin+"/-/ready")
}

// startMoto runs moto_server (from PATH) on a free port.
func (e *env) startMoto(ctx context.Context) (*server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server not on PATH: %w", err)
	}
	dir, addr, err := e.newPlace("moto")
	if err != nil {
		return nil, err
	}
	_, port, _ := splitHostPort(addr)
	return startServer(ctx, "moto_server", bin, []string{"-H", "127.0.0.1", "-p", port}, dir, "http://"+addr, "", "http://"+addr+"/moto-api/")
}

// startPrometheus runs Prometheus with its remote-write receiver on.
func (e *env) startPrometheus(ctx context.Context) (*server, error) {
	bin, err := e.peerBin(ctx, "prometheus", prometheusModule)
	if err != nil {
		return nil, err
	}
	dir, addr, err := e.newPlace("prometheus")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	args := []string{"--config.file", cfg, "--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", addr,
		"--web.enable-remote-write-receiver", "--log.level", "warn"}
	return startServer(ctx, "prometheus", bin, args, dir, "http://"+addr, "", "http://"+addr+"/-/ready")
}

// startVictoria runs VictoriaMetrics single-node.
func (e *env) startVictoria(ctx context.Context) (*server, error) {
	bin, err := e.peerBin(ctx, "victoria-metrics", victoriaModule)
	if err != nil {
		return nil, err
	}
	dir, addr, err := e.newPlace("victoria")
	if err != nil {
		return nil, err
	}
	args := []string{"-storageDataPath", filepath.Join(dir, "data"), "-httpListenAddr", addr, "-loggerLevel", "WARN"}
	return startServer(ctx, "victoria-metrics", bin, args, dir, "http://"+addr, "", "http://"+addr+"/health")
}

func splitHostPort(addr string) (host, port string, err error) { return net.SplitHostPort(addr) }

// newPlace is a fresh directory and a free loopback address for a server.
func (e *env) newPlace(name string) (dir, addr string, err error) {
	if dir, err = e.newDir(name); err != nil {
		return "", "", err
	}
	addr, err = freePort()
	return dir, addr, err
}
