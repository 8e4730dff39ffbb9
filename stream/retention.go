package stream

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// EnforceRetention deletes, in every partition, the oldest closed segments
// last written before RetentionAge ago, then more of the oldest while the
// partition is over RetentionBytes. Whole segments go; the active one never
// does, so a partition may keep more than RetentionBytes (one segment) and,
// when idle, records older than RetentionAge. The running service calls it
// every minute.
func (e *Embedded) EnforceRetention() error {
	if !e.open.Load() {
		return ErrClosed
	}
	cutoff := e.now().Add(-e.cfg.RetentionAge)
	var errs []error
	for _, part := range e.parts {
		if err := e.enforce(part, cutoff); err != nil {
			errs = append(errs, fmt.Errorf("enforce retention of partition %d: %w", part.id, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Embedded) enforce(part *partition, cutoff time.Time) error {
	segs := part.log.Segments()
	var total int64
	for _, s := range segs {
		total += s.Size
	}
	var (
		upTo           uint64
		byAge, byBytes int
	)
	for _, s := range segs {
		if s.Active {
			break
		}
		if s.LastWrite.Before(cutoff) {
			byAge++
		} else if total > e.cfg.RetentionBytes {
			byBytes++
		} else {
			break
		}
		total -= s.Size
		upTo = s.End
	}
	if byAge+byBytes == 0 {
		return nil
	}
	n, err := part.log.TruncateBefore(upTo)
	label := strconv.Itoa(part.id)
	aged := min(n, byAge)
	e.m.retention.WithLabelValues(label, "age").Add(float64(aged))
	e.m.retention.WithLabelValues(label, "bytes").Add(float64(n - aged))
	part.oldest.Set(float64(part.log.FirstOffset()))
	if n > 0 {
		e.logger.Info("stream retention deleted segments", "partition", part.id, "segments", n, "by_age", aged, "oldest_offset", part.log.FirstOffset())
	}
	return err
}
