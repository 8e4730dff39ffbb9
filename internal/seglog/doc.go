// Package seglog is the segmented, checksummed, group-committed append-only
// log under both the node's write-ahead log (fallback.WAL) and the embedded
// stream's partitions (stream.Embedded). It owns the files, the frame
// format, the writer goroutine, repair at open, readers and truncation; its
// users add what is theirs (the WAL's node identity, the stream's record
// batches, meta data and committed offsets).
//
// # Offsets
//
// A Log is a sequence of segment files in Config.Dir, each named by the
// offset of its first frame (00000000000000000000.wal, …, with
// Config.Suffix). Offsets only grow: a new segment starts at the end offset
// of the previous one, and TruncateBefore never deletes the active segment.
// How far a frame moves the offset depends on the mode:
//
//   - by default a frame takes as many offsets as it has bytes, header
//     included, so an offset is a byte position in the whole log (the WAL);
//   - with Config.Counted every payload starts with a little-endian uint32
//     record count n >= 1 and the frame takes n offsets, so offsets count
//     records: a frame holding a batch of n records has the offset of its
//     first record, and the next frame's offset is n higher (the stream's
//     dense, Kafka-style record indexes). Segment names then carry the
//     index of their first record.
//
// Each segment keeps an in-memory offset index: one (offset, file position)
// entry every 64 KiB of frames, built by the writer as it writes, by the
// scan at open for the last segment, and by a scan the first time a reader
// positions itself in an older segment. A reader positioned at an arbitrary
// offset (NewReader, NewReaderAt) starts from the nearest entry and walks at
// most 64 KiB of frames.
//
// # Frame format
//
// Every frame is, little endian:
//
//	uint32 length | uint32 CRC-32C (Castagnoli) of payload | payload
//
// length is 1..MaxRecordSize (16 MiB): empty payloads are refused so that a
// zero-filled tail never decodes as frames. A segment is closed once the next
// frame would take it past Config.SegmentSize; only a single larger frame
// makes a segment bigger.
//
// # Writing and durability
//
// One writer goroutine owns the files. Append encodes the frame into the
// batch being filled and waits; the writer takes the whole batch, writes it
// with one write(2) (more only when it crosses a segment boundary), and with
// SyncInterval 0 fsyncs once before waking every caller of the batch (group
// commit). With SyncInterval > 0 callers are woken after write(2) and the
// writer fsyncs every SyncInterval. Queued bytes are bounded by
// MaxPendingBytes; Append waits for room, respecting its context, but once
// its frame is queued it waits for the writer's verdict whatever the
// context, so an error means the frame is not in the log (ErrFailed
// aside). A closed segment is always fsynced before the next one is created,
// and a new segment's directory entry is fsynced before it is written to.
//
// Errors go to every caller of the batch whose frame is not durable, wrapped
// with %w. On a failed write the active segment is truncated back to its
// size before that write, so no partial frame is left behind and the log
// keeps working. A failed fsync, or a failed roll-back, fails the log: every
// later Append returns an error wrapping ErrFailed and the cause until
// it is reopened.
//
// # Start-up
//
// Open lists the segments and validates the last one frame by frame. At the
// first short frame, bad length, CRC mismatch (or bad record count) it
// truncates the segment (a torn tail from a crash mid-write) and logs the
// offset and the bytes dropped. Older segments were fsynced whole before the
// next segment was created, so they are not scanned at open. Open takes no
// lock: its users lock their directory with internal/dirlock.
//
// # Reading
//
// Readers (Replay, NewReader, NewReaderAt) see a frame once it is fsynced,
// in both sync policies. A reader follows segment rotation, waits on a
// channel the writer closes when the durable end moves (no polling), and
// returns an error wrapping Errors.Truncated if its position was deleted. A
// corrupt frame below the durable end makes Reader.Next return a
// *CorruptionError once and continue at the next segment; Replay logs it and
// does the same. Neither ever panics on bad data.
//
// # Errors
//
// The sentinel errors (ErrClosed, ErrTruncated, ErrRecordTooLarge,
// ErrEmptyRecord, ErrFailed) and *CorruptionError are the log's; fallback's
// WAL returns them as they are (fallback.ErrClosed is seglog.ErrClosed).
// Config.Errors still lets a user substitute its own ErrClosed and
// ErrTruncated (the stream's ErrClosed and ErrOffsetOutOfRange); a nil field
// keeps seglog's.
//
// # Tests
//
// The corruption and repair scenarios, in both offset modes, are tested here
// (repair_test.go); fallback and stream test only what their layers add.
package seglog
