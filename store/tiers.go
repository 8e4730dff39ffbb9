package store

import "encoding/binary"

// tier is one roll-up level of the long-term store (CloudWatch retention,
// docs/cloudwatch-api.md §3.1). Every datum is merged into its
// bucket of every tier that applies, so each tier is complete on its own
// for the time it retains.
type tier struct {
	width     int64 // bucket width, seconds
	retention int64 // seconds; a bucket is kept while Start+width > now-retention
	span      int64 // seconds of buckets per pebble value (block); a multiple of width
	highRes   bool  // only StorageResolution 1 datums go here
}

// The tiers, finest first. The index is the tier byte of a data key; never
// reorder.
var tiers = [...]tier{
	{width: 1, retention: 3 * 3600, span: 600, highRes: true}, // 600 buckets per block
	{width: 60, retention: 15 * 86400, span: 6 * 3600},        // 360
	{width: 300, retention: 63 * 86400, span: 86400},          // 288
	{width: 3600, retention: 455 * 86400, span: 10 * 86400},   // 240
}

const (
	tier1s = iota
	tier60s
	tier300s
	tier3600s
)

// maxBlockBuckets is the most buckets of any tier's block.
const maxBlockBuckets = 600

func (t *tier) buckets() int64 { return t.span / t.width }

// cutoff is the first second still retained at now: buckets with
// Start+width <= cutoff are gone.
func (t *tier) cutoff(now int64) int64 { return now - t.retention }

// holds reports whether the tier still holds the bucket containing sec.
func (t *tier) holds(sec, now int64) bool {
	return floorDiv(sec, t.width)*t.width+t.width > t.cutoff(now)
}

// Key layout of the long-term store (docs/storage.md). Every key starts with
// one prefix byte.
const (
	prefixData      = 'd' // d | tier | block start (8, order-preserving) | series id (4) -> block
	prefixGap       = 'g' // g | len-prefixed origin | from (8) | to (8) -> first ms, last ms, partition
	prefixStreamGap = 'h' // h | partition (4) | from (8) | to (8) -> first ms, last ms
	prefixID        = 'i' // i | series id (4) -> series key encoding
	prefixKey       = 'k' // k | series key encoding -> series id (4)
	prefixMark      = 'm' // m | partition (4) | origin -> highest applied WAL offset (8)
	prefixNewest    = 'n' // n | series id (4) -> newest datum second (8, order-preserving; merged by max)
	prefixPartition = 'p' // p | partition (4) -> next stream offset (8), newest datum ms applied (8)
	prefixMeta      = 'v' // v -> layout version
)

const dataKeyLen = 1 + 1 + 8 + 4

type dataKey [dataKeyLen]byte

// orderedInt encodes v so that byte order is numeric order.
func appendOrdered(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v)^1<<63)
}

func readOrdered(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ 1<<63) }

func makeDataKey(ti int, blockStart int64, id uint32) dataKey {
	var k dataKey
	k[0], k[1] = prefixData, byte(ti)
	binary.BigEndian.PutUint64(k[2:], uint64(blockStart)^1<<63)
	binary.BigEndian.PutUint32(k[10:], id)
	return k
}

// tierBounds returns the key range of every block of tier ti that starts
// before blockEnd.
func tierBounds(ti int, blockEnd int64) (lo, hi []byte) {
	l := makeDataKey(ti, minInt64, 0)
	h := makeDataKey(ti, blockEnd, 0)
	return l[:], h[:]
}

func idKey(prefix byte, id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefix}, id)
}

func markKey(partition int, origin string) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 5+len(origin)), uint32(partition))
	b = append([]byte{prefixMark}, b...)
	return append(b, origin...)
}

func partitionKey(partition int) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixPartition}, uint32(partition))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
