package fallback

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type walMetrics struct {
	appends       prometheus.Counter
	bytes         prometheus.Counter
	fsyncs        prometheus.Counter
	fsyncDuration prometheus.Histogram
	batchRecords  prometheus.Histogram
	segments      prometheus.Gauge
	endOffset     prometheus.Gauge
	writeErrors   prometheus.Counter
	corruptions   prometheus.Counter
	pendingBytes  prometheus.Gauge
}

func newWALMetrics(reg prometheus.Registerer) *walMetrics {
	f := promauto.With(reg)
	return &walMetrics{
		appends: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_appends_total",
			Help: "Records appended to the WAL and acknowledged.",
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_bytes_total",
			Help: "Bytes of acknowledged WAL frames (header included).",
		}),
		fsyncs: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_fsyncs_total",
			Help: "fsync calls on WAL segments.",
		}),
		fsyncDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_wal_fsync_duration_seconds",
			Help:    "Duration of fsync calls on WAL segments.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batchRecords: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_wal_batch_records",
			Help:    "Records written per group-commit batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		segments: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_segments",
			Help: "Retained WAL segments, the active one included.",
		}),
		endOffset: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_end_offset",
			Help: "Offset the next WAL record will get.",
		}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_write_errors_total",
			Help: "Failed WAL writes, fsyncs and segment creations.",
		}),
		corruptions: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_corruptions_total",
			Help: "Corrupt WAL frames found: torn tails repaired at open and bad frames met by readers.",
		}),
		pendingBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_pending_bytes",
			Help: "Bytes of records queued for the WAL writer when it last took a batch.",
		}),
	}
}

// run is the writer goroutine: it alone writes, fsyncs and rotates segments.
func (w *WAL) run() {
	defer close(w.doneCh)
	var tick <-chan time.Time
	if w.cfg.SyncInterval > 0 {
		t := time.NewTicker(w.cfg.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-w.kick:
			w.flush()
		case <-tick:
			_ = w.syncAndPublish()
		case reply := <-w.syncReq:
			w.flush()
			reply <- w.syncAndPublish()
		case <-w.stopCh:
			w.flush()
			err := w.syncAndPublish()
			if cerr := w.active.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close segment %d: %w", w.activeBase, cerr))
			}
			w.closeErr = err
			return
		}
	}
}

// flush takes the batch being filled, writes it and wakes its callers.
func (w *WAL) flush() {
	w.mu.Lock()
	b := w.cur
	if b.n == 0 {
		w.mu.Unlock()
		return
	}
	w.cur = &batch{buf: w.spare, done: make(chan struct{})}
	w.spare = nil
	failErr := w.failErr
	w.m.pendingBytes.Set(float64(w.pending))
	w.mu.Unlock()

	if failErr != nil {
		b.err = failErr
	} else {
		w.writeBatch(b)
	}

	w.mu.Lock()
	w.pending -= int64(len(b.buf))
	if w.spaceCh != nil {
		close(w.spaceCh)
		w.spaceCh = nil
	}
	if cap(b.buf) <= maxSpareBuffer {
		w.spare = b.buf[:0]
	}
	b.buf = nil
	w.mu.Unlock()
	close(b.done)
}

func frameSize(buf []byte) int {
	return frameHeaderSize + int(binary.LittleEndian.Uint32(buf))
}

// writeBatch writes b, rotating segments at frame boundaries, and in the
// default policy fsyncs once. It sets b.base, b.okLen and b.err.
func (w *WAL) writeBatch(b *batch) {
	b.base = w.end
	var err error
	for pos := 0; pos < len(b.buf); {
		n := frameSize(b.buf[pos:])
		if w.activeSize > 0 && w.activeSize+int64(n) > w.cfg.SegmentSize {
			if err = w.rotate(); err != nil {
				break
			}
		}
		end := pos + n
		for end < len(b.buf) {
			m := frameSize(b.buf[end:])
			if w.activeSize+int64(end-pos+m) > w.cfg.SegmentSize {
				break
			}
			end += m
		}
		if err = w.write(b.buf[pos:end]); err != nil {
			break
		}
		pos = end
	}
	if err == nil && w.cfg.SyncInterval == 0 {
		err = w.sync()
	}

	acked := w.end
	if w.cfg.SyncInterval == 0 {
		acked = w.synced
	}
	if acked > b.base {
		b.okLen = int(acked - b.base)
	}
	if err != nil {
		if ferr := w.Err(); ferr != nil {
			err = ferr
		}
		b.err = err
	}

	records, bytes := 0, 0
	for bytes < b.okLen {
		bytes += frameSize(b.buf[bytes:])
		records++
	}
	w.m.appends.Add(float64(records))
	w.m.bytes.Add(float64(bytes))
	w.m.batchRecords.Observe(float64(b.n))
	w.publish(acked)
}

// write appends p to the active segment. On error it truncates the segment
// back to its size before the write, so no partial frame stays behind; if
// that fails too, the WAL fails.
func (w *WAL) write(p []byte) error {
	n, err := w.active.Write(p)
	if err == nil {
		w.activeSize += int64(n)
		w.end += uint64(n)
		w.dirty = true
		return nil
	}
	w.m.writeErrors.Inc()
	err = fmt.Errorf("write segment %d: %w", w.activeBase, err)
	if terr := w.active.Truncate(w.activeSize); terr != nil {
		w.setFailed(errors.Join(err, fmt.Errorf("roll back segment %d to %d bytes: %w", w.activeBase, w.activeSize, terr)))
	}
	w.logger.Warn("wal write failed; batch rejected", "segment", w.activeBase, "written", n, "err", err)
	return err
}

// sync fsyncs the active segment if it was written to since the last fsync.
// A failed fsync fails the WAL: after it the kernel may have dropped the
// dirty pages, so nothing written since the last good fsync can be trusted.
func (w *WAL) sync() error {
	if !w.dirty {
		return nil
	}
	start := time.Now()
	err := w.active.Sync()
	w.m.fsyncs.Inc()
	w.m.fsyncDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		w.m.writeErrors.Inc()
		err = fmt.Errorf("sync segment %d: %w", w.activeBase, err)
		w.setFailed(err)
		if w.cfg.SyncInterval == 0 && w.synced >= w.activeBase {
			// Best effort: drop the unacknowledged tail so it does not
			// come back on restart. Relaxed mode keeps it: it was acked.
			keep := int64(w.synced - w.activeBase)
			if w.active.Truncate(keep) == nil {
				w.activeSize, w.end = keep, w.synced
			}
		}
		return err
	}
	w.dirty = false
	w.synced = w.end
	return nil
}

// syncAndPublish fsyncs and makes the synced records visible to readers.
func (w *WAL) syncAndPublish() error {
	if err := w.Err(); err != nil {
		return err
	}
	err := w.sync()
	acked := w.ackedEnd.Load()
	if w.cfg.SyncInterval == 0 {
		acked = w.synced
	}
	w.publish(acked)
	return err
}

// publish exposes the writer's progress: acked to EndOffset, the synced end
// and the active segment's size to readers.
func (w *WAL) publish(acked uint64) {
	now := time.Now()
	w.ackedEnd.Store(acked)
	w.m.endOffset.Set(float64(acked))
	w.stateMu.Lock()
	act := w.segs[len(w.segs)-1]
	if act.size != w.activeSize {
		act.size = w.activeSize
		act.lastWrite = now
	}
	if w.synced > w.durable {
		w.durable = w.synced
		close(w.notify)
		w.notify = make(chan struct{})
	}
	w.stateMu.Unlock()
}

// rotate fsyncs and closes the active segment and starts a new one whose base
// is the current end offset. If the new file cannot be created, the old
// segment stays active and the error goes to the batch.
func (w *WAL) rotate() error {
	if err := w.sync(); err != nil {
		return err
	}
	base := w.end
	f, err := createSegment(w.cfg.Dir, base)
	if err != nil {
		w.m.writeErrors.Inc()
		w.logger.Warn("wal segment rotation failed", "base", base, "err", err)
		return err
	}
	old, oldBase := w.active, w.activeBase
	w.active, w.activeBase, w.activeSize = w.wrapFile(f), base, 0
	if err := old.Close(); err != nil {
		w.logger.Warn("close wal segment", "base", oldBase, "err", err)
	}

	now := time.Now()
	w.stateMu.Lock()
	prev := w.segs[len(w.segs)-1]
	prev.size = int64(base - prev.base)
	prev.lastWrite = now
	w.segs = append(w.segs, &segment{base: base, lastWrite: now})
	n := len(w.segs)
	w.stateMu.Unlock()
	w.m.segments.Set(float64(n))
	return nil
}
