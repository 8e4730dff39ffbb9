// Package fallback holds what lets an ingest node outlive its stream. For now
// that is the node's write-ahead log (WAL): ingest appends every accepted
// request to it before acknowledging, the local store replays it at start,
// and (later) the shipper tails it into the stream, so the WAL is both the
// durability and the spool of the node.
//
// The mechanism below (segment files, frames, the writer goroutine, repair,
// readers, truncation) is internal/seglog's, in its byte-offset mode; the
// embedded stream's partitions run on the same code. The WAL is a thin layer
// over it: it adds the node identity, the directory lock (internal/dirlock),
// the dskit service lifecycle, its configuration and its cellwatch_wal_*
// metrics. Its errors are seglog's: ErrClosed, ErrTruncated,
// ErrRecordTooLarge, ErrEmptyRecord, ErrFailed and CorruptionError are the
// same values and type, so errors.Is and errors.As match either name.
//
// # Lifecycle and configuration
//
// The WAL is a services.Service. NewWAL(cfg, reg, logger) only checks cfg and
// builds it; services.StartAndAwaitRunning runs starting, which opens the
// directory (below, Start-up) and starts the writer; StopAsync (or
// services.StopAndAwaitTerminated) makes every later Append return ErrClosed,
// and stopping writes and fsyncs what is queued, closes the files and
// releases the lock: an Append either returned nil before the files closed,
// and its record is on disk, or it returned an error. Every other method is
// for a Running WAL only. WALConfig and ShipperConfig follow dskit's
// convention: yaml tags, RegisterFlags (-wal.*, -shipper.*) and Validate for
// what a user sets; the fields cmd derives (Dir, StateFile) have no flag and
// no YAML key.
//
// # Offsets and identity
//
// A record's offset is its logical byte position in the whole log. The log is
// a sequence of segment files in WALConfig.Dir, each named by the offset of
// its first byte (00000000000000000000.wal, 00000000000067108864.wal, …), so
// a record's offset is its segment's base plus the position of its frame in
// the file. Offsets only grow: a new segment starts at the end offset of the
// previous one, TruncateBefore never deletes the active segment, and the file
// NODE_ID holds a random identity made on first open. (NodeID, offset)
// identifies a record for ever. If NODE_ID is found without any segment, the
// log was lost and a new identity is made, so old offsets are never reused
// under the old one.
//
// # Frame format
//
// Every record is one frame, little endian:
//
//	uint32 length | uint32 CRC-32C (Castagnoli) of payload | payload
//
// length is 1..MaxRecordSize (16 MiB): empty records are refused so that a
// zero-filled tail never decodes as records. A segment is closed once the next
// frame would take it past WALConfig.SegmentSize; only a single larger record
// makes a segment bigger.
//
// # Writing and durability
//
// One writer goroutine owns the files. Append encodes the frame into the
// batch being filled and waits; the writer takes the whole batch, writes it
// with one write(2) (more only when it crosses a segment boundary), and with
// SyncInterval 0 fsyncs once before waking every caller of the batch (group
// commit). With SyncInterval > 0 callers are woken after write(2) and the
// writer fsyncs every SyncInterval: a process crash loses nothing, an OS crash
// up to SyncInterval of acknowledged records. Queued bytes are bounded by
// MaxPendingBytes; Append waits for room, respecting its context, but once
// its record is queued it waits for the writer's verdict whatever the
// context, so an error means the record is not in the log (ErrFailed aside).
// A closed segment is always fsynced before the next one is created, and a new
// segment's directory entry is fsynced before it is written to.
//
// Errors go to every caller of the batch whose record is not durable (when a
// batch crosses a rotation, the part fsynced into the closed segment is
// acknowledged), wrapped with %w, so
// errors.Is(err, syscall.ENOSPC) works. On a failed write the active segment
// is truncated back to its size before that write, so no partial or
// unacknowledged frame is left behind and the WAL keeps working (a full disk
// refuses writes until space is freed, then recovers). A failed fsync, or a
// failed roll-back, fails the WAL: after a failed fsync Linux may have dropped
// the dirty pages, so nothing written since can be trusted. Every later Append
// returns an error wrapping ErrFailed and the cause; the node must restart
// the WAL (a new one on the same directory), and the start-up scan below
// repairs what is on disk.
//
// # Start-up
//
// Starting takes an exclusive flock on Dir/LOCK, lists the segments and
// validates the last one frame by frame. At the first short frame, bad length
// or CRC mismatch it truncates the segment (a torn tail from a crash
// mid-write) and logs the offset and the bytes dropped. Older segments were
// fsynced whole before the next segment was created, so they are not
// scanned at open.
//
// # Reading
//
// Readers (Replay, NewReader) see a record once it is fsynced, in both sync
// policies: an offset a reader has handed on (to the stream) survives an OS
// crash and is never given to another record. A reader follows segment
// rotation, waits on a channel the writer closes when the durable end moves
// (no polling), and returns an error wrapping ErrTruncated if its position
// was deleted. A corrupt frame below the durable end (bit rot in a closed
// segment) makes Reader.Next return a *CorruptionError once and continue at
// the next segment; Replay logs it and does the same. Neither ever panics on
// bad data.
package fallback
