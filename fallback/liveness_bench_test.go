package fallback

import (
	"context"
	"testing"
)

// BenchmarkLivenessMark: one mark appended alone (its own fsync: an idle
// node's cost per second; under load marks share ingest's group commits).
func BenchmarkLivenessMark(b *testing.B) {
	w, err := startWAL(WALConfig{Dir: b.TempDir()}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	lv := NewLiveness(LivenessConfig{}, w, nil, nil, nil)
	for b.Loop() {
		if err := lv.Mark(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
