// Package stream is cellwatch's partitioned log: the Kinesis-style stream that
// carries every accepted datum from the ingest nodes to long-term storage.
//
// [Log] is the interface; [Embedded] is the on-disk implementation the
// all-in-one binary runs (one directory per partition, segmented CRC-framed
// records, group-committed fsync, retention by age and bytes, committed
// offsets stored atomically). A Kafka implementation comes with cluster mode.
// Records are opaque bytes here; producers choose the partition (cellwatch
// partitions by series, so one series stays in order).
package stream
