package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/cellwatch/cellwatch/fallback"
	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

// openStreamPath builds the write path to long-term storage: the embedded
// stream, the shipper that tails the WAL into it (behind a fault injector the
// admin API drives), the long-term store and its consumer.
func (n *node) openStreamPath(cfg *Config, logger *slog.Logger) error {
	var err error
	n.longTerm, err = store.OpenLongTerm(store.LongTermConfig{Dir: filepath.Join(cfg.Data, "longterm"), Partitions: cfg.Stream.Partitions}, n.reg, logger.With("component", "longterm"))
	if err != nil {
		return fmt.Errorf("open long-term store: %w", err)
	}
	n.stream, err = stream.OpenEmbedded(stream.EmbeddedConfig{
		Dir:            filepath.Join(cfg.Data, "stream"),
		Partitions:     cfg.Stream.Partitions,
		RetentionAge:   cfg.Stream.Retention,
		RetentionBytes: cfg.Stream.RetentionBytes,
	}, n.reg, logger.With("component", "stream"))
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	n.faulty = fallback.NewFaultyStream(n.stream)
	if err := n.faulty.Set(fallback.Fault{Mode: cfg.Shipper.Fault}); err != nil {
		return fmt.Errorf("-shipper.fault: %w", err)
	}
	shipperCfg := cfg.Shipper
	shipperCfg.StateFile = filepath.Join(cfg.Data, "shipper.json")
	n.shipper, err = fallback.NewShipper(shipperCfg, n.wal, n.faulty, n.reg, logger.With("component", "shipper"))
	if err != nil {
		return fmt.Errorf("create shipper: %w", err)
	}
	n.consumer = store.NewConsumer(n.longTerm, partitionSource{n.stream}, store.ConsumerConfig{}, n.reg, logger.With("component", "consumer"))
	return nil
}

// partitionSource lets the long-term consumer read a stream.Log (store
// declares what it reads; it does not import stream).
type partitionSource struct{ stream.Log }

func (s partitionSource) Fetch(ctx context.Context, p int, offset int64, maxBytes int) ([]store.StreamMessage, error) {
	msgs, err := s.Log.Fetch(ctx, p, offset, maxBytes)
	out := make([]store.StreamMessage, len(msgs))
	for i, m := range msgs {
		out[i] = store.StreamMessage{Offset: m.Offset, Value: m.Value}
	}
	return out, err
}
