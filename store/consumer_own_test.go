package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/backoff"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// handOwnership is an Ownership a test moves by hand.
type handOwnership struct {
	mu    sync.Mutex
	parts []int
	ch    chan struct{}
}

func (h *handOwnership) Owned(int) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.parts)
}

func (h *handOwnership) Changes() <-chan struct{} { return h.ch }

func (h *handOwnership) set(parts ...int) {
	h.mu.Lock()
	h.parts = parts
	h.mu.Unlock()
	select {
	case h.ch <- struct{}{}:
	default:
	}
}

// TestConsumerFollowsOwnership: the consumer reads only the partitions it
// owns; a partition it gains is read from its own stored offset, one it
// loses is no longer read (what arrives there later is not applied), and
// getting it back resumes where it stopped, with nothing applied twice.
func TestConsumerFollowsOwnership(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	lt := openTestLongTerm(t, t.TempDir(), clock, nil)
	closeOnCleanup(t, &lt)
	src := newFakeSource(3)
	var walOff uint64
	add := func(p, n int) {
		for i := range n {
			walOff += 10
			v, _ := shipped("a", walOff, p, i%30, float64(i))
			src.append(p, v)
		}
	}
	add(0, 10)
	add(1, 10)
	add(2, 10)
	own := &handOwnership{parts: []int{1}, ch: make(chan struct{}, 1)}
	reg := prometheus.NewRegistry()
	c := NewConsumer(lt, src, ConsumerConfig{Ownership: own, MaxFetchBytes: 300,
		Backoff: backoff.Config{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}}, reg, nil)
	if err := services.StartAndAwaitRunning(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = services.StopAndAwaitTerminated(context.Background(), c) })

	src.waitAt(t, 1, 10)
	for p, want := range []int64{0, 10, 0} {
		if got := lt.NextOffset(p); got != want {
			t.Errorf("owning {1}: partition %d next offset = %d; want %d", p, got, want)
		}
	}
	if got := testutil.ToFloat64(c.owned); got != 1 {
		t.Errorf("partitions owned = %v; want 1", got)
	}

	own.set(0, 2) // 1 moves away, 0 and 2 arrive
	src.waitAt(t, 0, 10)
	src.waitAt(t, 2, 10)
	add(1, 5) // written after partition 1 left: not this node's to apply
	add(0, 5)
	src.waitAt(t, 0, 15)
	if got := lt.NextOffset(1); got != 10 {
		t.Errorf("partition 1 after it moved away: next offset %d; want 10 (not read)", got)
	}

	own.set(0, 1, 2) // 1 comes back: read on from its stored offset
	src.waitAt(t, 1, 15)
	for p, want := range []int64{15, 15, 10} {
		if got := lt.NextOffset(p); got != want {
			t.Errorf("owning all: partition %d next offset = %d; want %d", p, got, want)
		}
	}
	if d := testutil.ToFloat64(lt.duplicates); d != 0 {
		t.Errorf("%v duplicates read; want none", d)
	}
	if got := testutil.ToFloat64(c.owned); got != 3 {
		t.Errorf("partitions owned = %v; want 3", got)
	}
}
