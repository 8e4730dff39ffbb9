package seglog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// run is the writer goroutine: it alone writes, fsyncs and rotates segments.
func (l *Log) run() {
	defer close(l.doneCh)
	var tick <-chan time.Time
	if l.cfg.SyncInterval > 0 {
		t := time.NewTicker(l.cfg.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.kick:
			l.flush()
		case <-tick:
			_ = l.syncAndPublish()
		case reply := <-l.syncReq:
			l.flush()
			reply <- l.syncAndPublish()
		case <-l.stopCh:
			l.flush()
			err := l.syncAndPublish()
			if cerr := l.active.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close segment %d: %w", l.activeBase, cerr))
			}
			l.closeErr = err
			return
		}
	}
}

// flush takes the batch being filled, writes it and wakes its callers.
func (l *Log) flush() {
	l.mu.Lock()
	b := l.cur
	if b.n == 0 {
		l.mu.Unlock()
		return
	}
	l.cur = &batch{buf: l.spare, done: make(chan struct{})}
	l.spare = nil
	failErr := l.failErr
	l.m.PendingBytes.Set(float64(l.pending))
	l.mu.Unlock()

	if failErr != nil {
		b.err = failErr
	} else {
		l.writeBatch(b)
	}

	l.mu.Lock()
	l.pending -= int64(len(b.buf))
	if l.spaceCh != nil {
		close(l.spaceCh)
		l.spaceCh = nil
	}
	if cap(b.buf) <= maxSpareBuffer {
		l.spare = b.buf[:0]
	}
	b.buf = nil
	l.mu.Unlock()
	close(b.done)
}

func frameSize(buf []byte) int {
	return FrameHeaderSize + int(binary.LittleEndian.Uint32(buf))
}

// writeBatch writes b, rotating segments at frame boundaries, and in the
// default policy fsyncs once. It sets b.base, b.okUnits and b.err.
func (l *Log) writeBatch(b *batch) {
	b.base = l.end
	var err error
	for pos := 0; pos < len(b.buf); {
		n := frameSize(b.buf[pos:])
		if l.activeSize > 0 && l.activeSize+int64(n) > l.cfg.SegmentSize {
			if err = l.rotate(); err != nil {
				break
			}
		}
		end := pos + n
		for end < len(b.buf) {
			m := frameSize(b.buf[end:])
			if l.activeSize+int64(end-pos+m) > l.cfg.SegmentSize {
				break
			}
			end += m
		}
		if err = l.write(b.buf[pos:end]); err != nil {
			break
		}
		pos = end
	}
	if err == nil && l.cfg.SyncInterval == 0 {
		err = l.sync()
	}

	acked := l.end
	if l.cfg.SyncInterval == 0 {
		acked = l.synced
	}
	if acked > b.base {
		b.okUnits = acked - b.base
	}
	if err != nil {
		if ferr := l.Err(); ferr != nil {
			err = ferr
		}
		b.err = err
	}

	frames, bytes := 0, 0
	for units := uint64(0); units < b.okUnits; frames++ {
		n := frameSize(b.buf[bytes:])
		units += l.weight(b.buf[bytes : bytes+n])
		bytes += n
	}
	l.m.Appends.Add(float64(frames))
	l.m.Bytes.Add(float64(bytes))
	l.m.BatchFrames.Observe(float64(b.n))
	l.publish(acked)
}

// write appends whole frames p to the active segment. On error it truncates
// the segment back to its size before the write, so no partial frame stays
// behind; if that fails too, the log fails.
func (l *Log) write(p []byte) error {
	n, err := l.active.Write(p)
	if err == nil {
		for pos := 0; pos < len(p); {
			size := frameSize(p[pos:])
			if fpos := l.activeSize + int64(pos); fpos-l.lastIdxPos >= indexInterval {
				l.pendingIdx = append(l.pendingIdx, indexEntry{off: l.end, pos: fpos})
				l.lastIdxPos = fpos
			}
			l.end += l.weight(p[pos : pos+size])
			pos += size
		}
		l.activeSize += int64(n)
		l.dirty = true
		return nil
	}
	l.m.WriteErrors.Inc()
	err = fmt.Errorf("write segment %d: %w", l.activeBase, err)
	if terr := l.active.Truncate(l.activeSize); terr != nil {
		l.setFailed(errors.Join(err, fmt.Errorf("roll back segment %d to %d bytes: %w", l.activeBase, l.activeSize, terr)))
	}
	l.logger.Warn("write failed; batch rejected", "segment", l.activeBase, "written", n, "err", err)
	return err
}

// sync fsyncs the active segment if it was written to since the last fsync.
// A failed fsync fails the log: after it the kernel may have dropped the
// dirty pages, so nothing written since the last good fsync can be trusted.
func (l *Log) sync() error {
	if !l.dirty {
		return nil
	}
	start := time.Now()
	err := l.active.Sync()
	l.m.Fsyncs.Inc()
	l.m.FsyncDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		l.m.WriteErrors.Inc()
		err = fmt.Errorf("sync segment %d: %w", l.activeBase, err)
		l.setFailed(err)
		if l.cfg.SyncInterval == 0 {
			// Best effort: drop the unacknowledged tail so it does not
			// come back on restart. Relaxed mode keeps it: it was acked.
			if l.active.Truncate(l.syncedSize) == nil {
				l.activeSize, l.end = l.syncedSize, l.synced
				l.dropIndexFrom(l.syncedSize)
			}
		}
		return err
	}
	l.dirty = false
	l.synced, l.syncedSize = l.end, l.activeSize
	return nil
}

// dropIndexFrom forgets the index entries of the active segment at or past
// file position pos, which a roll-back removed.
func (l *Log) dropIndexFrom(pos int64) {
	keep := func(idx []indexEntry) []indexEntry {
		i := len(idx)
		for i > 0 && idx[i-1].pos >= pos {
			i--
		}
		return idx[:i]
	}
	l.pendingIdx = keep(l.pendingIdx)
	l.stateMu.Lock()
	act := l.segs[len(l.segs)-1]
	if kept := keep(act.idx); len(kept) < len(act.idx) {
		act.idx = append([]indexEntry(nil), kept...) // readers may hold the old slice
	}
	l.stateMu.Unlock()
	l.lastIdxPos = 0
	if n := len(l.pendingIdx); n > 0 {
		l.lastIdxPos = l.pendingIdx[n-1].pos
	} else if n := len(act.idx); n > 0 {
		l.lastIdxPos = act.idx[n-1].pos
	}
}

// syncAndPublish fsyncs and makes the synced frames visible to readers.
func (l *Log) syncAndPublish() error {
	if err := l.Err(); err != nil {
		return err
	}
	err := l.sync()
	acked := l.ackedEnd.Load()
	if l.cfg.SyncInterval == 0 {
		acked = l.synced
	}
	l.publish(acked)
	return err
}

// publish exposes the writer's progress: acked to EndOffset, the synced end
// and the active segment's size and index to readers.
func (l *Log) publish(acked uint64) {
	now := l.now()
	l.ackedEnd.Store(acked)
	l.m.EndOffset.Set(float64(acked))
	l.stateMu.Lock()
	act := l.segs[len(l.segs)-1]
	if act.size != l.activeSize {
		act.size, act.end = l.activeSize, l.end
		act.lastWrite = now
	}
	if len(l.pendingIdx) > 0 {
		act.idx = append(act.idx, l.pendingIdx...)
		l.pendingIdx = l.pendingIdx[:0]
	}
	if l.synced > l.durable {
		l.durable, l.durableSize = l.synced, l.syncedSize
		close(l.notify)
		l.notify = make(chan struct{})
	}
	l.stateMu.Unlock()
}

// rotate fsyncs and closes the active segment and starts a new one whose base
// is the current end offset. If the new file cannot be created, the old
// segment stays active and the error goes to the batch.
func (l *Log) rotate() error {
	if err := l.sync(); err != nil {
		return err
	}
	base := l.end
	f, err := l.createSegment(base)
	if err != nil {
		l.m.WriteErrors.Inc()
		l.logger.Warn("segment rotation failed", "base", base, "err", err)
		return err
	}
	old, oldBase := l.active, l.activeBase
	l.active, l.activeBase = l.cfg.WrapFile(f), base
	if err := old.Close(); err != nil {
		l.logger.Warn("close segment", "base", oldBase, "err", err)
	}

	now := l.now()
	l.stateMu.Lock()
	prev := l.segs[len(l.segs)-1]
	if prev.size != l.activeSize { // written since the last publish
		prev.lastWrite = now
	}
	prev.size, prev.end = l.activeSize, base
	prev.idx = append(prev.idx, l.pendingIdx...)
	l.segs = append(l.segs, &segment{base: base, end: base, lastWrite: now, indexed: true})
	l.durableSize = 0 // durable is at or below base: readers of the new segment wait
	n := len(l.segs)
	l.stateMu.Unlock()
	l.pendingIdx = l.pendingIdx[:0]
	l.activeSize, l.syncedSize, l.lastIdxPos = 0, 0, 0
	l.m.Segments.Set(float64(n))
	return nil
}
