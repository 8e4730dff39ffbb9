// Package stream is cellwatch's partitioned log: the Kinesis-style stream that
// carries every accepted datum from the ingest nodes to long-term storage.
//
// [Log] is the interface; [Embedded] is the on-disk implementation the
// all-in-one binary runs. A Kafka implementation comes with cluster mode.
// Records are opaque bytes here; producers choose the partition (cellwatch
// partitions by series, so one series stays in order).
//
// # Embedded: layout
//
//	<Dir>/LOCK                  flock: one process per stream
//	<Dir>/stream.json           {"partitions": 8}, written once, before any partition
//	<Dir>/p-0000/…/p-0007/      one segment log per partition
//	<Dir>/groups/<hex>.json     committed offsets of one consumer group
//
// The partition count is fixed when the stream is created: records are
// partitioned by series hash, so changing it would move series between
// partitions. Opening with another count is refused with an error naming
// both counts.
//
// # Embedded: records and offsets
//
// Each partition is an internal/seglog log in its Counted mode: one Append
// batch is one CRC-32C frame whose payload is
//
//	uint32 count | count × (uvarint length | value)
//
// and the frame takes count offsets. So a partition's offsets are dense
// record indexes (0, 1, 2, … as in Kafka), a batch is atomic (a torn write
// loses the whole frame, which the torn-tail repair at open truncates), and
// offsets are assigned by seglog's single writer goroutine in write order,
// so concurrent appenders get disjoint, gap-free ranges and a write that
// failed and was rolled back leaves no hole. Segment files are named by the
// offset of their first record (p-0003/00000000000000120000.log), so the
// oldest retained offset is the first file's name and opening a partition
// scans only its last segment (to repair it and find the end offset).
//
// To find the frame holding an arbitrary offset, seglog keeps per segment an
// in-memory index with one (offset, file position) entry every 64 KiB,
// built by the writer as it appends, by the scan at open for the last
// segment, and lazily (one scan) the first time a Fetch lands in an older
// segment; Fetch then walks at most 64 KiB of CRC-checked frames. Nothing of
// the index is on disk, so nothing can disagree with the segments. The cost
// is about 16 bytes per 64 KiB of retained data.
//
// Fetch sees a record once it is fsynced. With SyncInterval 0 that is when
// Append returns; with SyncInterval > 0 a record Append acknowledged (and
// Bounds counts) may stay invisible to Fetch for up to SyncInterval. A Fetch
// at the end offset waits on a channel the partition's writer closes when
// new records become durable: no polling.
//
// # Embedded: retention
//
// EnforceRetention (run every minute, and callable) deletes whole closed
// segments, oldest first: those last written before RetentionAge ago, then
// more while the partition holds more than RetentionBytes. The active
// segment is never deleted, so the oldest offset and the end offset survive
// any retention and restart. A Fetch below the oldest retained offset, or
// whose segment is deleted while it reads, gets ErrOffsetOutOfRange; the
// consumer resumes from Bounds.
//
// # Embedded: committed offsets
//
// Each consumer group's offsets (one per partition, the next offset to read)
// live in one small JSON file, rewritten whole on Commit: temp file, fsync,
// rename over the old one, fsync of the directory. A crash leaves the old or
// the new file, never a mix; a temp file left by a crash is removed at open.
// Commits are serialized, so files are written in the order Commit is
// called.
package stream
