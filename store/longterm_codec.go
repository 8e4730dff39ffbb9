package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/decode"
)

// A block is the value of one data key: the buckets of one series in one
// tier's block span, in the chunk encoding of chunk.go. Buckets are encoded
// in index space (Start = bucket index within the block, Width = 1), so
// consecutive buckets take the hNext form and no tier needs an explicit
// width; the key carries the block start and the tier. Layout:
//
//	version byte (blockVersion) | chunk bytes, codec state starting at 0
//
// Version 2 buckets carry the last value (Aggregate.Last); version 1 blocks,
// written before it, are still read (no last value) and become version 2
// when pebble merges them with newer operands.
const blockVersion = 2

// mergerName is stored by pebble in the database; never change it.
const mergerName = "cellwatch.longterm.v1"

var errBadBlock = errors.New("corrupt long-term block")

// appendBlock encodes aggs (absolute Start, the tier's Width, ascending and
// distinct, all within the block) as one block.
func appendBlock(b []byte, t *tier, blockStart int64, aggs []Aggregate) []byte {
	b = append(b, blockVersion)
	st := newCodecState(0)
	for i := range aggs {
		a := &aggs[i]
		start, width := a.Start, a.Width
		a.Start, a.Width = (start-blockStart)/t.width, 1
		b = appendBucket(b, &st, a)
		a.Start, a.Width = start, width
	}
	return b
}

// blockReader decodes a block. With base 0 and width 1 it yields bucket
// indexes as Start (the merger works in index space).
type blockReader struct {
	r           chunkReader
	base, width int64
	n, last     int64
}

func newBlockReader(v []byte, base, width, n int64) blockReader {
	br := blockReader{base: base, width: width, n: n, last: -1}
	if len(v) == 0 || (v[0] != blockVersion && v[0] != 1) {
		br.r.Reader = decode.New(nil, errBadBlock)
		br.r.Fail()
		return br
	}
	br.r = newChunkReader(v[1:], 0)
	br.r.noLast = v[0] == 1
	return br
}

// next decodes the next bucket into a; false at the end or on corruption.
func (br *blockReader) next(a *Aggregate) bool {
	if !br.r.next(a) {
		return false
	}
	idx := a.Start
	if a.Width != 1 || idx <= br.last || idx >= br.n {
		br.r.Fail() // never written
		return false
	}
	br.last = idx
	a.Start, a.Width = br.base+idx*br.width, br.width
	return true
}

func (br *blockReader) err() error { return br.r.Err() }

// mergeScratch is the dense bucket array a block merge folds into.
type mergeScratch struct {
	aggs    [maxBlockBuckets]Aggregate
	touched []int32
	tmp     Aggregate
}

var mergePool = sync.Pool{New: func() any { return new(mergeScratch) }}

// mergeBlocks merges encoded blocks of tier t bucket by bucket and returns
// the encoding of the result (a new slice). Corrupt operands are merged up to
// the corruption and reported through bad.
func mergeBlocks(t *tier, ops [][]byte, bad func(error)) []byte {
	sc := mergePool.Get().(*mergeScratch)
	defer mergePool.Put(sc)
	n := t.buckets()
	size := 0
	for _, op := range ops {
		size += len(op)
		br := newBlockReader(op, 0, 1, n)
		for br.next(&sc.tmp) {
			a := &sc.aggs[sc.tmp.Start]
			if a.Empty() {
				sc.touched = append(sc.touched, int32(sc.tmp.Start))
			}
			a.Merge(&sc.tmp)
		}
		if err := br.err(); err != nil {
			bad(err)
		}
	}
	slices.Sort(sc.touched)
	out := make([]byte, 0, size)
	out = append(out, blockVersion)
	st := newCodecState(0)
	for _, i := range sc.touched {
		a := &sc.aggs[i]
		a.Start, a.Width = int64(i), 1
		out = appendBucket(out, &st, a)
		a.Reset()
	}
	sc.touched = sc.touched[:0]
	return out
}

// merge is the pebble merge operator: blocks merge bucket by bucket, newest
// marks by max. Operands are kept until Finish, so a merge of k operands
// decodes each once.
func (lt *LongTerm) merge(key, value []byte) (pebble.ValueMerger, error) {
	switch {
	case len(key) == dataKeyLen && key[0] == prefixData && int(key[1]) < len(tiers):
		return &blockMerger{lt: lt, t: &tiers[key[1]], ops: [][]byte{slices.Clone(value)}}, nil
	case len(key) == 5 && key[0] == prefixNewest && len(value) == 8:
		return &maxMerger{v: readOrdered(value)}, nil
	}
	return nil, fmt.Errorf("merge key %x: %w", key, errBadBlock)
}

type blockMerger struct {
	lt  *LongTerm
	t   *tier
	ops [][]byte
}

func (m *blockMerger) MergeNewer(v []byte) error {
	m.ops = append(m.ops, slices.Clone(v))
	return nil
}

func (m *blockMerger) MergeOlder(v []byte) error {
	m.ops = append(m.ops, slices.Clone(v))
	return nil
}

func (m *blockMerger) Finish(bool) ([]byte, io.Closer, error) {
	if len(m.ops) == 1 {
		return m.ops[0], nil, nil
	}
	return mergeBlocks(m.t, m.ops, m.lt.corruptBlock), nil, nil
}

type maxMerger struct{ v int64 }

func (m *maxMerger) MergeNewer(v []byte) error { return m.add(v) }
func (m *maxMerger) MergeOlder(v []byte) error { return m.add(v) }

func (m *maxMerger) add(v []byte) error {
	if len(v) != 8 {
		return fmt.Errorf("merge newest: %d bytes: %w", len(v), errBadBlock)
	}
	m.v = max(m.v, readOrdered(v))
	return nil
}

func (m *maxMerger) Finish(bool) ([]byte, io.Closer, error) {
	return appendOrdered(nil, m.v), nil, nil
}

// pendingBlocks collects the buckets of one apply batch per data key, so the
// batch writes one small block per key (batch.Merge, no read).
type pendingBlocks struct {
	index  map[dataKey]int32
	blocks []pendingBlock
	buf    []byte
}

type pendingBlock struct {
	key  dataKey
	ti   int
	bs   int64
	aggs []Aggregate // absolute Start; unsorted, may repeat a Start
}

func (p *pendingBlocks) reset() {
	if p.index == nil {
		p.index = make(map[dataKey]int32)
	}
	clear(p.index)
	for i := range p.blocks {
		clear(p.blocks[i].aggs)
		p.blocks[i].aggs = p.blocks[i].aggs[:0]
	}
	p.blocks = p.blocks[:0]
}

// bucket returns the aggregate of bucket start of tier ti for series id.
func (p *pendingBlocks) bucket(ti int, id uint32, start int64) *Aggregate {
	t := &tiers[ti]
	bs := floorDiv(start, t.span) * t.span
	k := makeDataKey(ti, bs, id)
	i, ok := p.index[k]
	if !ok {
		i = int32(len(p.blocks))
		p.index[k] = i
		if len(p.blocks) < cap(p.blocks) {
			p.blocks = p.blocks[:len(p.blocks)+1]
		} else {
			p.blocks = append(p.blocks, pendingBlock{})
		}
		b := &p.blocks[i]
		b.key, b.ti, b.bs = k, ti, bs
	}
	b := &p.blocks[i]
	if n := len(b.aggs); n > 0 && b.aggs[n-1].Start == start {
		return &b.aggs[n-1]
	}
	b.aggs = append(b.aggs, Aggregate{Start: start, Width: t.width})
	return &b.aggs[len(b.aggs)-1]
}

// write merges every pending block into the batch.
func (p *pendingBlocks) write(batch *pebble.Batch) error {
	for i := range p.blocks {
		b := &p.blocks[i]
		aggs := b.aggs
		slices.SortStableFunc(aggs, func(x, y Aggregate) int { return cmp.Compare(x.Start, y.Start) })
		k := 0
		for j := range aggs {
			if k > 0 && aggs[k-1].Start == aggs[j].Start {
				aggs[k-1].Merge(&aggs[j])
				continue
			}
			if k != j {
				aggs[k], aggs[j] = aggs[j], aggs[k]
			}
			k++
		}
		p.buf = appendBlock(p.buf[:0], &tiers[b.ti], b.bs, aggs[:k])
		if err := batch.Merge(b.key[:], p.buf, nil); err != nil {
			return fmt.Errorf("merge block: %w", err)
		}
	}
	return nil
}

func encodeUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
