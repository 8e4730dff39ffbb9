package main

import (
	"context"

	"github.com/cellwatch/cellwatch/store"
	"github.com/cellwatch/cellwatch/stream"
)

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
