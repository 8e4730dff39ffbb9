// Command cellwatch runs the all-in-one cellwatch node: the CloudWatch API on
// -listen, the operator endpoints on -admin-listen, data under -data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cellwatch/cellwatch/internal/dirlock"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "drill" {
		return runDrill(args[1:])
	}
	cfg, err := loadConfig("cellwatch", args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "cellwatch:", err)
		return 2
	}
	logger := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	n, err := newNode(ctx, cfg, logger)
	if err != nil {
		logger.Error("start cellwatch", "err", err)
		return 1
	}
	if err := n.serve(ctx); err != nil {
		logger.Error("run cellwatch", "err", err)
		return 1
	}
	return 0
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// lockDataDir takes <data>/LOCK for as long as the node runs, so a second
// cellwatch on the same directory stops at once instead of sharing (and
// corrupting) the WAL. Closing the file releases it.
func lockDataDir(dir string) (*os.File, error) {
	f, err := dirlock.Lock(dir, "LOCK")
	if held, ok := errors.AsType[*dirlock.HeldError](err); ok {
		return nil, fmt.Errorf("data directory %s is in use by another cellwatch (pid %s holds %s); stop it or start with another -data",
			dir, held.PID, held.Path)
	}
	return f, err
}
