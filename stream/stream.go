package stream

import (
	"context"
	"errors"
)

// Errors of every Log implementation.
var (
	// ErrUnavailable: the stream cannot be reached or refused the call; retry later.
	ErrUnavailable = errors.New("stream unavailable")
	// ErrOffsetOutOfRange: Fetch asked for an offset retention already removed
	// (or past the end); the caller resumes from Bounds.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrClosed: the Log is not running (not started yet, or stopped).
	ErrClosed = errors.New("stream closed")

	// errBadBatch is wrapped when a CRC-valid frame of Embedded does not
	// decode as a batch: a bug, never a torn write.
	errBadBatch = errors.New("malformed batch")
)

// Message is one record of a partition with its offset.
type Message struct {
	Offset int64
	Value  []byte
}

// Log is a partitioned, append-only log in the spirit of Kafka: records are
// appended to one partition in batches, read back in order by offset, and
// consumer groups keep their committed offset per partition. The embedded
// implementation keeps it on local disk; a Kafka one fits behind the same
// interface.
type Log interface {
	// Partitions is the fixed number of partitions, numbered from 0.
	Partitions() int
	// Append appends records to partition p as one atomic batch, durably
	// (fsynced) when it returns nil, and returns the offset of the first.
	Append(ctx context.Context, p int, records [][]byte) (first int64, err error)
	// Fetch returns records of p from offset on, at most maxBytes of values
	// (but at least one record when one exists). It waits, until ctx is done,
	// when offset is the end of the partition.
	Fetch(ctx context.Context, p int, offset int64, maxBytes int) ([]Message, error)
	// Bounds returns the oldest retained offset and the end offset (the
	// offset the next record will get) of p.
	Bounds(ctx context.Context, p int) (oldest, end int64, err error)
	// Commit stores group's committed offset (the next offset to read) for p.
	Commit(ctx context.Context, group string, p int, offset int64) error
	// Committed returns group's committed offset for p, 0 when none.
	Committed(ctx context.Context, group string, p int) (int64, error)
}
