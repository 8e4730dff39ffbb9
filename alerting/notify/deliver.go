package notify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// running is the delivery loop: it starts the head of every due, idle
// target queue on at most Workers deliveries at once, and sleeps until the
// next retry or a new entry. When ctx is done it starts nothing more and
// waits for the deliveries in flight, each bounded by Timeout.
func (o *Outbox) running(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, o.cfg.Workers)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	keep := time.NewTicker(o.cfg.Keepalive)
	defer keep.Stop()
	keeping := false // a keepalive pass runs; only this loop reads or sets it
	passDone := make(chan struct{}, 1)
	startPass := func() {
		if o.src == nil || keeping {
			return
		}
		keeping = true
		wg.Go(func() {
			o.keepalive(context.WithoutCancel(ctx))
			passDone <- struct{}{}
		})
	}
	startPass() // at start too: after a restart the alarms in ALARM fire again at once
	for {
		start, earliest := o.due(cap(sem) - len(sem))
		for _, e := range start {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem; o.poke() }()
				// In flight at shutdown, a delivery still ends within its timeout.
				o.finish(e, o.deliver(context.WithoutCancel(ctx), e))
			})
		}
		wait := time.Hour
		if !earliest.IsZero() {
			wait = max(time.Until(earliest), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-o.wake:
		case <-timer.C:
		case <-keep.C:
			startPass()
		case <-passDone:
			keeping = false
		}
	}
}

// due marks busy and returns the heads of at most free due, idle queues,
// and the earliest retry time of the others (zero: none).
func (o *Outbox) due(free int) ([]*Entry, time.Time) {
	now := time.Now()
	var earliest time.Time
	var start []*Entry
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.queues {
		if q.busy || len(q.entries) == 0 || o.pausing && IsAlertmanager(q.entries[0].Target) {
			continue // a keepalive pass holds back the Alertmanager entries (keepalive.go)
		}
		if q.next.After(now) {
			if earliest.IsZero() || q.next.Before(earliest) {
				earliest = q.next
			}
			continue
		}
		if len(start) >= free {
			break
		}
		q.busy = true
		start = append(start, q.entries[0])
	}
	return start, earliest
}

// deliver makes one attempt at e.
func (o *Outbox) deliver(ctx context.Context, e *Entry) error {
	url := e.Target
	if targetKind(e.Target) == kindAlertmanager {
		url = alertmanagerURL(e.Target)
	}
	return o.post(ctx, url, e.Body)
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (o *Outbox) backoff(n int) time.Duration {
	d := o.cfg.BackoffMin
	for i := 1; i < n && d < o.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, o.cfg.BackoffMax)
}

// finish records the attempt at e: on success e leaves the outbox, on
// failure its target waits out its backoff. Either way a Result says so.
func (o *Outbox) finish(e *Entry, err error) {
	now := o.now().UTC()
	o.mu.Lock()
	q := o.queues[e.Target]
	res := Result{e.Tenant, e.AlarmName, e.AlarmType, e.Target, now, err == nil, ""}
	var del []*Entry
	if q != nil {
		q.busy = false
	}
	if err == nil {
		o.delivered.Inc()
		res.Summary = "Successfully executed action " + e.Target
		del = []*Entry{e}
		if q != nil {
			q.failures, q.next = 0, time.Time{}
		}
		o.remove(e)
	} else {
		o.failed.Inc()
		wait := o.cfg.BackoffMin
		if q != nil {
			q.failures++
			wait = o.backoff(q.failures)
			q.next = time.Now().Add(wait)
		}
		res.Summary = fmt.Sprintf("Failed to execute action %s: %v; retrying in %s", e.Target, err, wait)
	}
	if q != nil && len(q.entries) == 0 {
		delete(o.queues, e.Target)
	}
	// Written under o.mu so that a drop and this delete cannot interleave
	// with the in-memory index; a crash before it only repeats a delivery.
	if werr := o.record(res, del); werr != nil {
		o.logger.Error("record alarm notification", "target", e.Target, "alarm", e.AlarmName, "err", werr)
	}
	o.mu.Unlock()
	if err != nil {
		o.logger.Warn("alarm notification failed", "target", e.Target, "alarm", e.AlarmName, "err", err)
	}
}

// record writes res and the deletes of del in one synced batch.
func (o *Outbox) record(res Result, del []*Entry) error {
	b := o.journal.DB().NewBatch()
	defer b.Close()
	if err := o.journal.Record(b, []Result{res}); err != nil {
		return err
	}
	if err := deleteEntries(b, del); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit outbox batch: %w", err)
	}
	return nil
}
