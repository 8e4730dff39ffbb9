package fallback

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// FaultMode is a failure injected between the shipper and the stream.
type FaultMode string

// The fault modes of the admin API.
const (
	FaultNone  FaultMode = ""
	FaultDown  FaultMode = "down"  // every append fails at once
	FaultSlow  FaultMode = "slow"  // every append succeeds after Delay
	FaultHang  FaultMode = "hang"  // appends never answer (until their context ends)
	FaultFlaky FaultMode = "flaky" // half the appends fail, at random
)

// ErrInjected is the error of an append failed by an injected fault.
var ErrInjected = errors.New("injected stream fault")

// Fault is an injected fault: a mode and, for slow, a delay.
type Fault struct {
	Mode  FaultMode     `json:"mode"`
	Delay time.Duration `json:"delay,omitempty"`
}

func (f Fault) validate() error {
	switch f.Mode {
	case FaultNone, FaultDown, FaultHang, FaultFlaky:
	case FaultSlow:
		if f.Delay <= 0 {
			return errors.New("mode slow needs a positive delay")
		}
	default:
		return fmt.Errorf("unknown mode %q (want down, slow, hang or flaky)", f.Mode)
	}
	return nil
}

// FaultyStream wraps any Stream so operators and tests can make it fail in
// each of the ways a real stream fails, without touching the stream itself.
type FaultyStream struct {
	Stream
	mu    sync.Mutex
	fault Fault
}

// NewFaultyStream wraps s with no fault.
func NewFaultyStream(s Stream) *FaultyStream { return &FaultyStream{Stream: s} }

// Set injects f (FaultNone clears it).
func (f *FaultyStream) Set(fault Fault) error {
	if err := fault.validate(); err != nil {
		return fmt.Errorf("set fault: %w", err)
	}
	f.mu.Lock()
	f.fault = fault
	f.mu.Unlock()
	return nil
}

// Current returns the injected fault.
func (f *FaultyStream) Current() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fault
}

// Append applies the injected fault, then appends to the wrapped stream.
func (f *FaultyStream) Append(ctx context.Context, p int, records [][]byte) (int64, error) {
	fault := f.Current()
	switch fault.Mode {
	case FaultDown:
		return 0, fmt.Errorf("append partition %d: %w (down)", p, ErrInjected)
	case FaultHang:
		<-ctx.Done()
		return 0, fmt.Errorf("append partition %d: %w (hang): %w", p, ErrInjected, ctx.Err())
	case FaultFlaky:
		if rand.IntN(2) == 0 {
			return 0, fmt.Errorf("append partition %d: %w (flaky)", p, ErrInjected)
		}
	case FaultSlow:
		t := time.NewTimer(fault.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("append partition %d: %w (slow): %w", p, ErrInjected, ctx.Err())
		}
	}
	return f.Stream.Append(ctx, p, records)
}
