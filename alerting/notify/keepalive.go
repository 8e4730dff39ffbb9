package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Keepalives: Alertmanager resolves an alert by itself once its endsAt (or,
// without one, its resolve_timeout) passes, so an alarm that stays in ALARM
// must be re-sent. Every Config.Keepalive the outbox asks its Source for
// the alarms in ALARM and posts each one's firing alert to its
// Alertmanager targets with endsAt KeepaliveLead keepalives ahead, as
// Prometheus does. The keepalives are derived from the current state, not
// stored: they never enter the durable outbox, survive a restart because
// the first pass runs when the outbox starts, and record no Action history
// item (a failure is logged and counted; the next pass retries).
//
// Ordering: while a pass runs, the durable entries of Alertmanager targets
// wait (due skips them), and the pass reads its Source only after it has
// begun. A transition committed before the read is seen by it (no
// keepalive for an alarm that left ALARM); one committed after it has its
// resolve delivered after the pass. So a stale keepalive never follows a
// resolve.

// KeepaliveLead is how many keepalive intervals ahead a keepalive's endsAt is.
const KeepaliveLead = 4

// keepaliveBatch bounds the alerts of one keepalive post.
const keepaliveBatch = 500

// Firing is an alarm to keep firing and its Alertmanager targets.
type Firing struct {
	Alarm   Alarm
	Targets []string
}

// Source lists the alarms to keep firing now (in ALARM, actions enabled,
// with Alertmanager targets among their alarm actions). The outbox calls it
// from its delivery loop without holding its own lock.
type Source interface {
	Firing() []Firing
}

// KeepFiring sets the source of the keepalives; call it before the outbox
// starts. Without one the outbox sends none.
func (o *Outbox) KeepFiring(src Source) { o.src = src }

// keepalive runs one pass (see above).
func (o *Outbox) keepalive(ctx context.Context) {
	o.mu.Lock()
	o.pausing = true
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.pausing = false
		o.mu.Unlock()
		o.poke()
	}()
	// Real time, not the records' clock: endsAt is read by Alertmanager's clock.
	now := time.Now().UTC()
	end := now.Add(KeepaliveLead * o.cfg.Keepalive)
	byTarget := map[string][]AMAlert{}
	for _, f := range o.src.Firing() {
		al := amAlert(f.Alarm, now)
		al.EndsAt = &end
		for _, t := range f.Targets { // Alertmanagers only (Source's contract)
			byTarget[t] = append(byTarget[t], al)
		}
	}
	o.mu.Lock()
	for t := range byTarget {
		if q := o.queues[t]; q != nil && q.next.After(time.Now()) {
			delete(byTarget, t) // failing: its backoff decides when to try again
		}
	}
	o.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.cfg.Workers)
	for t, alerts := range byTarget {
		for len(alerts) > 0 {
			n := min(len(alerts), keepaliveBatch)
			part := alerts[:n]
			alerts = alerts[n:]
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				o.sendKeepalive(ctx, t, part)
			})
		}
	}
	wg.Wait()
}

// sendKeepalive posts alerts to target once and counts the outcome.
func (o *Outbox) sendKeepalive(ctx context.Context, target string, alerts []AMAlert) {
	err := o.postAlerts(ctx, target, alerts)
	if err != nil {
		o.keepalives.WithLabelValues("failed").Inc()
		o.logger.Warn("alertmanager keepalive failed", "target", target, "alerts", len(alerts), "err", err)
		return
	}
	o.keepalives.WithLabelValues("sent").Inc()
}

func (o *Outbox) postAlerts(ctx context.Context, target string, alerts []AMAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("encode alertmanager alerts: %w", err)
	}
	return o.post(ctx, alertmanagerURL(target), body)
}

// post makes one bounded attempt at posting body to url.
func (o *Outbox) post(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cellwatch-alarm-notifier")
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("post notification: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post notification: %s", resp.Status)
	}
	return nil
}
