package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/decode"
	"github.com/cellwatch/cellwatch/internal/record"
)

// seriesIndex maps series keys to persistent ids and back. Ids are assigned
// in order of first appearance (next = highest stored id + 1), under one
// mutex; a new id's index entries are written in the same batch as the first
// data that uses it, so no data ever references an id without its key, and
// an id whose batch failed is never used by data until a later batch
// writes its entries.
type seriesIndex struct {
	db *pebble.DB

	mu      sync.Mutex
	next    uint32
	ids     map[string]uint32     // key encoding -> id (cache, and every pending id)
	keys    map[uint32]*SeriesKey // id -> key (cache)
	pending map[uint32]string     // ids whose entries may not be durable yet
	max     int
}

var errSeriesKey = errors.New("corrupt series key")

func (s *seriesIndex) init(db *pebble.DB, max int) error {
	s.db, s.max = db, max
	s.ids = make(map[string]uint32)
	s.keys = make(map[uint32]*SeriesKey)
	s.pending = make(map[uint32]string)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixID}, UpperBound: []byte{prefixID + 1}})
	if err != nil {
		return fmt.Errorf("open series index: %w", err)
	}
	defer it.Close()
	if it.Last() {
		k := it.Key()
		if len(k) != 5 {
			return fmt.Errorf("open series index: key %x: %w", k, errSeriesKey)
		}
		s.next = binary.BigEndian.Uint32(k[1:]) + 1
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("open series index: %w", err)
	}
	return nil
}

// appendSeriesKey appends the encoding of a series key: length-prefixed
// tenant, namespace, metric name, the number of dimensions and each name and
// value, then the unit. It is prefix-free up to the unit, so a prefix scan on
// the part before the unit finds every unit of a metric, and one on the
// tenant finds its series. dims must be sorted.
func appendSeriesKey(b []byte, tenant, namespace, name string, dims []record.Dimension, unit string) []byte {
	b = appendIdentity(b, tenant, namespace, name, dims)
	return appendString(b, unit)
}

func appendIdentity(b []byte, tenant, namespace, name string, dims []record.Dimension) []byte {
	b = appendString(b, tenant)
	b = appendString(b, namespace)
	b = appendString(b, name)
	b = binary.AppendUvarint(b, uint64(len(dims)))
	for _, d := range dims {
		b = appendString(b, d.Name)
		b = appendString(b, d.Value)
	}
	return b
}

func decodeSeriesKey(b []byte) (SeriesKey, error) {
	d := decode.New(b, errSeriesKey)
	var k SeriesKey
	k.Tenant, k.Namespace, k.MetricName = d.Str(), d.Str(), d.Str()
	if nd := d.Count(); nd > 0 {
		k.Dimensions = make([]record.Dimension, nd)
	}
	for i := range k.Dimensions {
		k.Dimensions[i] = record.Dimension{Name: d.Str(), Value: d.Str()}
	}
	k.Unit = d.Str()
	if d.Err() != nil || d.Len() != 0 {
		return SeriesKey{}, errSeriesKey
	}
	return k, nil
}

// resolve returns the id of the series key enc, assigning one when the key
// is new. pending reports that the id's index entries must be written with
// the data that uses it.
func (s *seriesIndex) resolve(enc []byte) (id uint32, pending bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[string(enc)]; ok {
		_, pending = s.pending[id]
		return id, pending, nil
	}
	v, closer, err := s.db.Get(append([]byte{prefixKey}, enc...))
	switch {
	case err == nil:
		if len(v) != 4 {
			closer.Close()
			return 0, false, fmt.Errorf("read series id: %d bytes: %w", len(v), errSeriesKey)
		}
		id = binary.BigEndian.Uint32(v)
		closer.Close()
		s.cacheLocked(string(enc), id)
		return id, false, nil
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, false, fmt.Errorf("read series id: %w", err)
	}
	if s.next == math.MaxUint32 {
		return 0, false, fmt.Errorf("assign series id: all %d ids used: %w", uint32(math.MaxUint32), errSeriesKey)
	}
	id = s.next
	s.next++
	s.cacheLocked(string(enc), id)
	s.pending[id] = string(enc)
	return id, true, nil
}

// cacheLocked remembers enc -> id, emptying the cache (but for pending ids)
// when it is full.
func (s *seriesIndex) cacheLocked(enc string, id uint32) {
	if len(s.ids) >= s.max || len(s.keys) >= s.max {
		clear(s.ids)
		clear(s.keys)
		for pid, penc := range s.pending {
			s.ids[penc] = pid
		}
	}
	s.ids[enc] = id
}

// writePending adds the index entries of a pending id to batch.
func (s *seriesIndex) writePending(batch *pebble.Batch, id uint32) error {
	s.mu.Lock()
	enc, ok := s.pending[id]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if err := batch.Set(append([]byte{prefixKey}, enc...), binary.BigEndian.AppendUint32(nil, id), nil); err != nil {
		return fmt.Errorf("write series key: %w", err)
	}
	if err := batch.Set(idKey(prefixID, id), []byte(enc), nil); err != nil {
		return fmt.Errorf("write series id: %w", err)
	}
	return nil
}

// committed marks ids durable.
func (s *seriesIndex) committed(ids []uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.pending, id)
	}
}

// key returns the key of id, or false.
func (s *seriesIndex) key(id uint32) (*SeriesKey, bool, error) {
	s.mu.Lock()
	k, ok := s.keys[id]
	s.mu.Unlock()
	if ok {
		return k, true, nil
	}
	v, closer, err := s.db.Get(idKey(prefixID, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read series key %d: %w", id, err)
	}
	dk, err := decodeSeriesKey(v)
	closer.Close()
	if err != nil {
		return nil, false, fmt.Errorf("read series key %d: %w", id, err)
	}
	s.mu.Lock()
	if len(s.keys) >= s.max {
		clear(s.keys)
	}
	s.keys[id] = &dk
	s.mu.Unlock()
	return &dk, true, nil
}

// Lookup returns the series of the metric, one per unit, matching the
// dimension set exactly. Refs of the long-term store are its persistent
// series ids: stable across restarts.
func (lt *LongTerm) Lookup(tenant, namespace, metricName string, dims []record.Dimension) []SeriesRef {
	prefix := appendIdentity([]byte{prefixKey}, tenant, namespace, metricName, sortedDims(dims))
	var refs []SeriesRef
	err := lt.scan(prefix, func(k, v []byte) bool {
		if len(v) == 4 {
			refs = append(refs, SeriesRef(binary.BigEndian.Uint32(v)))
		}
		return true
	})
	if err != nil {
		lt.log.Error("long-term store: lookup", "metric", metricName, "err", err)
	}
	return refs
}

// Key returns the key of ref (the zero key for an unknown ref).
func (lt *LongTerm) Key(ref SeriesRef) SeriesKey {
	k, ok, err := lt.series.key(uint32(ref))
	if err != nil {
		lt.log.Error("long-term store: series key", "ref", ref, "err", err)
	}
	if !ok {
		return SeriesKey{}
	}
	return *k
}

// Series calls fn for every series of tenant, in key order, with the newest
// datum timestamp applied (Unix seconds), until fn returns false.
func (lt *LongTerm) Series(tenant string, fn func(ref SeriesRef, key *SeriesKey, newest int64) bool) {
	lt.seriesWithPrefix(appendString([]byte{prefixKey}, tenant), fn)
}

// SeriesOf calls fn for every series of tenant in namespace, in key order,
// with the newest datum timestamp applied (Unix seconds), until fn returns
// false. Series keys begin with tenant and namespace, so it is a prefix scan.
func (lt *LongTerm) SeriesOf(tenant, namespace string, fn func(ref SeriesRef, key *SeriesKey, newest int64) bool) {
	lt.seriesWithPrefix(appendString(appendString([]byte{prefixKey}, tenant), namespace), fn)
}

func (lt *LongTerm) seriesWithPrefix(prefix []byte, fn func(ref SeriesRef, key *SeriesKey, newest int64) bool) {
	err := lt.scan(prefix, func(k, v []byte) bool {
		if len(v) != 4 {
			return true
		}
		key, err := decodeSeriesKey(k[1:])
		if err != nil {
			lt.log.Error("long-term store: skipping corrupt series key", "key", k, "err", err)
			return true
		}
		id := binary.BigEndian.Uint32(v)
		newest := int64(minInt64)
		if nv, closer, err := lt.db.Get(idKey(prefixNewest, id)); err == nil {
			if len(nv) == 8 {
				newest = readOrdered(nv)
			}
			closer.Close()
		}
		return fn(SeriesRef(id), &key, newest)
	})
	if err != nil {
		lt.log.Error("long-term store: series", "prefix", prefix, "err", err)
	}
}

// scan calls fn for every key with prefix, until fn returns false.
func (lt *LongTerm) scan(prefix []byte, fn func(k, v []byte) bool) error {
	upper := prefixEnd(prefix)
	it, err := lt.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("scan %x: %w", prefix, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("scan %x: %w", prefix, err)
	}
	return nil
}

// prefixEnd returns the first key after every key with prefix.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
