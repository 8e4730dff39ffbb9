package store

import (
	"bytes"
	"hash/maphash"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cellwatch/cellwatch/internal/record"
)

// SeriesRef names a series of a Local store. A ref of a series that was
// dropped (no data left in the window) becomes stale: Key returns the zero
// key and Range calls nothing. Refs are not stable across restarts.
type SeriesRef uint32

// SeriesKey identifies a series. Dimensions are sorted by name. A key
// returned by the store must not be modified.
type SeriesKey struct {
	Tenant, Namespace, MetricName string
	Dimensions                    []record.Dimension // sorted by Name
	Unit                          string
}

// Series refs are gen(6 bits) | slot(20 bits) | shard(6 bits): the shard
// comes from the hash of the metric identity (tenant, namespace, name,
// dimensions; not the unit, so every unit of a metric is in one shard and one
// hash chain), the generation makes refs of dropped series stale.
const (
	shardBits = 6
	numShards = 1 << shardBits
	slotBits  = 20
	maxSlots  = 1 << slotBits
	genBits   = 32 - shardBits - slotBits
	genMask   = 1<<genBits - 1
	// maxInterned bounds each shard's table of interned names.
	maxInterned = 1 << 16
)

func makeRef(shard, slot uint32, gen uint8) SeriesRef {
	return SeriesRef(uint32(gen&genMask)<<(shardBits+slotBits) | slot<<shardBits | shard)
}

func (r SeriesRef) parts() (shard, slot uint32, gen uint8) {
	return uint32(r) & (numShards - 1), uint32(r) >> shardBits & (maxSlots - 1), uint8(uint32(r) >> (shardBits + slotBits))
}

// chunk is a run of sealed buckets (see chunk.go). The data of a chunk is
// never modified in place below its length, so readers may decode a copy of
// the slice header after releasing the lock.
type chunk struct {
	data  []byte
	first int64  // Start of the first bucket
	span  uint32 // max Start+Width of its buckets, minus first
	n     uint32 // buckets
}

// end is the end of the chunk's last-ending bucket.
func (c *chunk) end() int64 { return c.first + int64(c.span) }

func (c *chunk) extend(end int64) { c.span = uint32(max(end-c.first, int64(c.span))) }

type series struct {
	key    *SeriesKey // nil: free slot
	hash   uint64     // of the metric identity, without unit
	next   uint32     // next slot+1 in the hash chain; 0 ends it
	gen    uint8
	kb     int32  // accounted bytes of the key
	acct   int64  // bytes currently accounted for this series
	newest int64  // newest datum timestamp, Unix seconds
	nsPos  uint32 // position of the slot in its shard's byNS list

	// open buckets, ascending by (Start, Width); all are after every sealed
	// bucket.
	open []Aggregate
	// chunks of sealed buckets, ascending and disjoint.
	chunks []chunk
	// enc is the codec state after the last bucket of the last chunk.
	enc codecState
}

var (
	seriesSize    = int64(unsafe.Sizeof(series{}))
	keySize       = int64(unsafe.Sizeof(SeriesKey{}))
	dimensionSize = int64(unsafe.Sizeof(record.Dimension{}))
	chunkSize     = int64(unsafe.Sizeof(chunk{}))
)

// indexEntryBytes approximates the index map's cost per series (the
// identity map entry and the slot in its namespace list); nsEntryBytes the
// cost of one namespace list of a shard (map entry and slice header).
const (
	indexEntryBytes = 24 + 4
	nsEntryBytes    = 64
)

// nsKey names the series of one tenant and namespace (interned strings).
type nsKey struct{ tenant, namespace string }

// Series slots live in fixed pages, so that growing a shard neither copies
// series nor leaves half of a doubled slice unused.
const (
	pageBits = 5
	pageSize = 1 << pageBits
)

type shard struct {
	mu     sync.RWMutex
	index  map[uint64]uint32  // identity hash -> first slot of its chain
	byNS   map[nsKey][]uint32 // tenant and namespace -> slots, unordered
	pages  []*[pageSize]series
	nslots uint32 // slots in use or free
	free   []uint32
	names  map[string]string // interned names (tenant, namespace, metric, dimension names, unit)

	bytes atomic.Int64
	count atomic.Int64
	_     [64]byte
}

func (sh *shard) intern(s string) string {
	if v, ok := sh.names[s]; ok {
		return v
	}
	s = strings.Clone(s)
	if len(sh.names) < maxInterned {
		sh.names[s] = s
	}
	return s
}

// slot returns the series of slot i < sh.nslots.
func (sh *shard) slot(i uint32) *series { return &sh.pages[i>>pageBits][i&(pageSize-1)] }

// get returns the live series of slot with generation gen, or nil. The
// caller holds sh.mu.
func (sh *shard) get(slot uint32, gen uint8) *series {
	if slot >= sh.nslots {
		return nil
	}
	s := sh.slot(slot)
	if s.key == nil || s.gen != gen {
		return nil
	}
	return s
}

func sameIdentity(k *SeriesKey, tenant, namespace, name string, dims []record.Dimension) bool {
	return k.MetricName == name && k.Namespace == namespace && k.Tenant == tenant &&
		slices.Equal(k.Dimensions, dims)
}

// find returns the slot of the series, or -1. The caller holds sh.mu.
func (sh *shard) find(h uint64, tenant, namespace, name string, dims []record.Dimension, unit string) int {
	head, ok := sh.index[h]
	for i := head; ok; {
		s := sh.slot(i)
		if s.key.Unit == unit && sameIdentity(s.key, tenant, namespace, name, dims) {
			return int(i)
		}
		if s.next == 0 {
			break
		}
		i = s.next - 1
	}
	return -1
}

// create adds a series and returns its slot, or -1 when the shard is full.
// The caller holds sh.mu for writing.
func (sh *shard) create(h uint64, tenant, namespace, name string, dims []record.Dimension, unit string) int {
	var slot uint32
	if n := len(sh.free); n > 0 {
		slot = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		if sh.nslots >= maxSlots {
			return -1
		}
		if int(sh.nslots) == len(sh.pages)*pageSize {
			sh.pages = append(sh.pages, new([pageSize]series))
		}
		slot = sh.nslots
		sh.nslots++
	}
	k := newKey(len(dims))
	k.Tenant, k.Namespace, k.MetricName, k.Unit = sh.intern(tenant), sh.intern(namespace), sh.intern(name), sh.intern(unit)
	kb := keySize + int64(len(tenant)+len(namespace)+len(name)+len(unit))
	values := joinValues(dims)
	for i, d := range dims {
		k.Dimensions[i] = record.Dimension{Name: sh.intern(d.Name), Value: values[:len(d.Value)]}
		values = values[len(d.Value):]
		kb += dimensionSize + int64(len(d.Name)+len(d.Value))
	}
	s := sh.slot(slot)
	gen := s.gen
	*s = series{key: k, hash: h, gen: gen, kb: int32(min(kb, 1<<30)), newest: minInt64}
	if head, ok := sh.index[h]; ok {
		s.next = head + 1
	}
	sh.index[h] = slot
	sh.addToNamespace(k, slot)
	sh.count.Add(1)
	return int(slot)
}

// addToNamespace lists slot under its tenant and namespace. The caller holds
// sh.mu for writing.
func (sh *shard) addToNamespace(k *SeriesKey, slot uint32) {
	nk := nsKey{k.Tenant, k.Namespace}
	list, ok := sh.byNS[nk]
	if !ok {
		sh.bytes.Add(nsEntryBytes)
	}
	sh.slot(slot).nsPos = uint32(len(list))
	sh.byNS[nk] = append(list, slot)
}

// removeFromNamespace takes slot out of its namespace list (the last slot
// moves into its place). The caller holds sh.mu for writing.
func (sh *shard) removeFromNamespace(s *series, slot uint32) {
	nk := nsKey{s.key.Tenant, s.key.Namespace}
	list := sh.byNS[nk]
	if int(s.nsPos) >= len(list) || list[s.nsPos] != slot {
		return // not listed; cannot happen
	}
	last := list[len(list)-1]
	list[s.nsPos] = last
	sh.slot(last).nsPos = s.nsPos
	list = list[:len(list)-1]
	if len(list) == 0 {
		delete(sh.byNS, nk)
		sh.bytes.Add(-nsEntryBytes)
		return
	}
	if cap(list) > 16 && len(list) <= cap(list)/4 {
		list = slices.Clone(list)
	}
	sh.byNS[nk] = list
}

// keyWith is a series key allocated together with its dimensions, so that
// matching many keys (SEARCH) touches one block per key, not two.
type keyWith[D any] struct {
	key  SeriesKey
	dims D
}

// newKey returns a key whose Dimensions has length n.
func newKey(n int) *SeriesKey {
	switch n {
	case 0:
		return &SeriesKey{}
	case 1:
		kd := new(keyWith[[1]record.Dimension])
		kd.key.Dimensions = kd.dims[:]
		return &kd.key
	case 2:
		kd := new(keyWith[[2]record.Dimension])
		kd.key.Dimensions = kd.dims[:]
		return &kd.key
	case 3:
		kd := new(keyWith[[3]record.Dimension])
		kd.key.Dimensions = kd.dims[:]
		return &kd.key
	case 4:
		kd := new(keyWith[[4]record.Dimension])
		kd.key.Dimensions = kd.dims[:]
		return &kd.key
	}
	return &SeriesKey{Dimensions: make([]record.Dimension, n)}
}

// joinValues copies the dimension values into one string (one allocation,
// one block to read).
func joinValues(dims []record.Dimension) string {
	n := 0
	for _, d := range dims {
		n += len(d.Value)
	}
	var b strings.Builder
	b.Grow(n)
	for _, d := range dims {
		b.WriteString(d.Value)
	}
	return b.String()
}

// remove frees a series slot. The caller holds sh.mu for writing.
func (sh *shard) remove(slot uint32) {
	s := sh.slot(slot)
	head := sh.index[s.hash]
	if head == slot {
		if s.next == 0 {
			delete(sh.index, s.hash)
		} else {
			sh.index[s.hash] = s.next - 1
		}
	} else {
		for i := head; ; {
			p := sh.slot(i)
			if p.next == slot+1 {
				p.next = s.next
				break
			}
			if p.next == 0 {
				break // not linked; cannot happen
			}
			i = p.next - 1
		}
	}
	sh.removeFromNamespace(s, slot)
	sh.bytes.Add(-s.acct)
	sh.count.Add(-1)
	*s = series{gen: (s.gen + 1) & genMask}
	sh.free = append(sh.free, slot)
}

// account brings the shard's byte count up to date with s. The caller holds
// sh.mu for writing.
func (sh *shard) account(s *series) {
	n := seriesSize + indexEntryBytes + int64(s.kb) +
		int64(cap(s.open))*aggregateSize + int64(cap(s.chunks))*chunkSize
	for i := range s.open {
		n += s.open[i].memBytes()
	}
	for i := range s.chunks {
		n += int64(cap(s.chunks[i].data))
	}
	if d := n - s.acct; d != 0 {
		s.acct = n
		sh.bytes.Add(d)
	}
}

const minInt64 = -1 << 63

// Sealing policy. A bucket stays open (a plain Aggregate, cheap to merge
// into) until it ended more than openGrace ago, or when more than maxOpen
// buckets are open; then it is sealed into the series' last chunk. A chunk
// covers at most chunkSpan seconds (aligned) and maxChunkBuckets buckets,
// so that trimming drops whole chunks and a late merge re-encodes a bounded
// chunk.
const (
	openGrace60     = 90 // seconds after the end of a 60 s bucket
	openGrace1      = 10 // seconds after the end of a 1 s bucket
	maxOpen         = 64
	chunkSpan       = 3600
	maxChunkBuckets = 240
	initialChunkCap = 32
)

func openGrace(width int64) int64 {
	if width < 60 {
		return openGrace1
	}
	return openGrace60
}

func keyLess(s1, w1, s2, w2 int64) bool { return s1 < s2 || (s1 == s2 && w1 < w2) }

// cmpBucketKey orders an aggregate against a (start, width) key, as
// keyLess does, for slices.BinarySearchFunc.
func cmpBucketKey(a Aggregate, k [2]int64) int {
	switch {
	case keyLess(a.Start, a.Width, k[0], k[1]):
		return -1
	case a.Start == k[0] && a.Width == k[1]:
		return 0
	}
	return 1
}

// searchOpen finds (start, width) in s.open.
func (s *series) searchOpen(start, width int64) (int, bool) {
	return slices.BinarySearchFunc(s.open, [2]int64{start, width}, cmpBucketKey)
}

// addDatum merges d into the bucket (start, width). It reports whether the
// sealed (slow) path was taken. The caller holds the shard lock for writing.
func (s *series) addDatum(d *record.Datum, start, width, now int64, log *slog.Logger) (late bool) {
	i, found := s.searchOpen(start, width)
	if found {
		s.open[i].AddDatum(d)
		return false
	}
	// Seal first (the new bucket may be the one that makes older ones
	// sealable), then decide where the datum goes.
	if s.seal(now) > 0 {
		i, _ = s.searchOpen(start, width)
	}
	if len(s.chunks) == 0 || keyLess(s.enc.start, s.enc.width, start, width) {
		if len(s.open) == cap(s.open) && len(s.open) < 4 {
			// Grow by one: a series usually holds two or three open buckets.
			s.open = append(make([]Aggregate, 0, len(s.open)+1), s.open...)
		}
		s.open = slices.Insert(s.open, i, Aggregate{Start: start, Width: width})
		s.open[i].AddDatum(d)
		return false
	}
	s.mergeSealed(d, start, width, log)
	return true
}

// seal moves the oldest open buckets that are past their grace (or beyond
// maxOpen) into the last chunk. Only a prefix is sealed, to keep chunks in
// order.
func (s *series) seal(now int64) int {
	n := 0
	for n < len(s.open) {
		a := &s.open[n]
		if a.Start+a.Width > now-openGrace(a.Width) && len(s.open)-n < maxOpen {
			break
		}
		s.appendSealed(a)
		n++
	}
	if n == 0 {
		return 0
	}
	m := copy(s.open, s.open[n:])
	clear(s.open[m:])
	s.open = s.open[:m]
	if cap(s.open) > 8 && m <= cap(s.open)/4 {
		s.open = slices.Clone(s.open)
	}
	return n
}

func (s *series) appendSealed(a *Aggregate) {
	if n := len(s.chunks); n > 0 {
		c := &s.chunks[n-1]
		base := floorDiv(c.first, chunkSpan) * chunkSpan
		if a.Start < base+chunkSpan && c.n < maxChunkBuckets {
			c.data = appendBucket(c.data, &s.enc, a)
			c.n++
			c.extend(a.Start + a.Width)
			return
		}
		// Close it: give back the growth slack.
		if cap(c.data) > len(c.data) {
			c.data = bytes.Clone(c.data)
		}
	}
	s.enc = newCodecState(a.Start)
	data := appendBucket(make([]byte, 0, initialChunkCap), &s.enc, a)
	s.chunks = append(s.chunks, chunk{data: data, first: a.Start, span: uint32(a.Width), n: 1})
}

// mergeSealed merges d into a sealed bucket (or a new bucket among sealed
// ones): decode the chunk, merge, encode it anew. Rare, so simple.
func (s *series) mergeSealed(d *record.Datum, start, width int64, log *slog.Logger) {
	ci := sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].first > start }) - 1
	ci = max(ci, 0)
	c := &s.chunks[ci]
	aggs, err := decodeChunk(c.data, c.first)
	if err != nil {
		log.Error("local store: dropping datum for a corrupt chunk", "err", err)
		return
	}
	i, found := slices.BinarySearchFunc(aggs, [2]int64{start, width}, cmpBucketKey)
	if !found {
		aggs = slices.Insert(aggs, i, Aggregate{Start: start, Width: width})
	}
	aggs[i].AddDatum(d)
	data, st := encodeChunk(aggs)
	c.data, c.first, c.n, c.span = data, aggs[0].Start, uint32(len(aggs)), 0
	for i := range aggs {
		c.extend(aggs[i].Start + aggs[i].Width)
	}
	if ci == len(s.chunks)-1 {
		s.enc = st
	}
}

// trim drops buckets that ended at or before cutoff and seals idle open
// buckets. It returns the number of buckets dropped.
func (s *series) trim(cutoff, now int64) int {
	s.seal(now)
	dropped := 0
	k := 0
	tailDropped := false
	for i, c := range s.chunks {
		if c.end() <= cutoff {
			dropped += int(c.n)
			tailDropped = i == len(s.chunks)-1
			continue
		}
		s.chunks[k] = c
		k++
	}
	clear(s.chunks[k:])
	s.chunks = s.chunks[:k]
	switch {
	case k == 0:
		s.chunks = nil
		s.enc = codecState{}
	case tailDropped:
		// Possible with mixed widths only: a 60 s bucket in an older chunk
		// can end after the 1 s buckets of the newest one.
		s.enc = tailState(s.chunks[k-1])
	}
	k = 0
	for i := range s.open {
		if s.open[i].Start+s.open[i].Width <= cutoff {
			dropped++
			continue
		}
		s.open[k] = s.open[i]
		k++
	}
	clear(s.open[k:])
	s.open = s.open[:k]
	if k == 0 {
		s.open = nil
	}
	return dropped
}

// tailState decodes c to the codec state after its last bucket.
func tailState(c chunk) codecState {
	r := newChunkReader(c.data, c.first)
	var a Aggregate
	for r.next(&a) {
	}
	return r.st
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// hashIdentity hashes a metric identity (without unit).
func hashIdentity(seed maphash.Seed, tenant, namespace, name string, dims []record.Dimension) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(tenant)
	h.WriteByte(0)
	h.WriteString(namespace)
	h.WriteByte(0)
	h.WriteString(name)
	for i := range dims {
		h.WriteByte(1)
		h.WriteString(dims[i].Name)
		h.WriteByte(0)
		h.WriteString(dims[i].Value)
	}
	return h.Sum64()
}

func dimsSorted(dims []record.Dimension) bool {
	for i := 1; i < len(dims); i++ {
		if dims[i-1].Name > dims[i].Name {
			return false
		}
	}
	return true
}

// sortedDims returns dims sorted by name, copying only when needed.
func sortedDims(dims []record.Dimension) []record.Dimension {
	if dimsSorted(dims) {
		return dims
	}
	dims = slices.Clone(dims)
	record.SortDimensions(dims)
	return dims
}

// PartitionOf is the stream partition, of n, that the data of the series
// with key k travels in (the shipper splits records by the same hash), so
// the partition whose consumer holds it in a long-term store.
func PartitionOf(k *SeriesKey, n int) int {
	if n <= 0 {
		return 0
	}
	d := record.Datum{MetricName: k.MetricName, Dimensions: k.Dimensions, Unit: k.Unit}
	return int(record.SeriesHash(k.Tenant, k.Namespace, &d) % uint64(n))
}
