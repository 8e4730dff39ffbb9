package insights

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// group is one stats group: its key values and aggregate states.
type group struct {
	keys []value
	agg  []aggState
}

// aggState accumulates one aggregate.
type aggState struct {
	n        float64 // rows counted: present values, or every row for count(*)
	nums     float64 // numeric values (sum, avg, stddev)
	sum      float64
	mean, m2 float64 // Welford's running mean and sum of squared deviations
	best     value
	bestTS   int64
	has      bool
	pct      *pctState
	distinct *distinctState
}

// groupBytes is what a group costs beyond its key text and growing
// aggregates: the map entry, the struct and its aggregate states.
const groupBytes = 96

// groupSet is the groups of one stats command, bounded in count and bytes.
type groupSet struct {
	m      map[string]*group
	order  []*group // first-seen order
	keyBuf []byte
	bytes  int64
	lim    *limits
}

// limits are a run's bounds and what it holds against them.
type limits struct {
	maxGroups int
	maxBytes  int64
}

// appendKey encodes a value for a group or dedup key.
func appendKey(b []byte, v value) []byte {
	b = append(b, byte(v.k))
	if v.k == kStr {
		b = binary.AppendUvarint(b, uint64(len(v.s)))
		return append(b, v.s...)
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.n))
}

// add aggregates one row into its group.
func (gs *groupSet) add(c *statsCmd, rec *record) error {
	gs.keyBuf = gs.keyBuf[:0]
	for _, b := range c.by {
		gs.keyBuf = appendKey(gs.keyBuf, b.e.eval(rec))
	}
	if gs.m == nil {
		gs.m = map[string]*group{}
	}
	g := gs.m[string(gs.keyBuf)]
	if g == nil {
		if len(gs.order) >= gs.lim.maxGroups {
			return fmt.Errorf("stats: %w: more than %d groups", ErrTooLarge, gs.lim.maxGroups)
		}
		g = &group{agg: make([]aggState, len(c.aggs))}
		for _, b := range c.by {
			v := b.e.eval(rec)
			v.s = strings.Clone(v.s)
			g.keys = append(g.keys, v)
		}
		gs.m[string(gs.keyBuf)] = g
		gs.order = append(gs.order, g)
		gs.bytes += int64(groupBytes + 2*len(gs.keyBuf) + len(c.aggs)*int(sizeofAggState))
	}
	ts, _ := rec.get("@timestamp", sysTimestamp).number()
	for i, a := range c.aggs {
		var v value
		if a.arg != nil {
			v = a.arg.eval(rec)
		}
		gs.bytes += g.agg[i].add(a, v, int64(ts))
	}
	if gs.bytes > gs.lim.maxBytes {
		return fmt.Errorf("stats: %w: more than %d bytes held", ErrTooLarge, gs.lim.maxBytes)
	}
	return nil
}

const sizeofAggState = 120

// add takes one row's argument value (unused for count(*)) and returns the
// change in held bytes.
func (st *aggState) add(a *aggSpec, v value, ts int64) int64 {
	if a.arg == nil {
		st.n++
		return 0
	}
	if !v.present() {
		return 0
	}
	st.n++
	var delta int64
	switch a.fn {
	case "sum", "avg", "stddev":
		if x, ok := v.number(); ok {
			st.nums++
			st.sum += x
			d := x - st.mean
			st.mean += d / st.nums
			st.m2 += d * (x - st.mean)
		}
	case "pct":
		if x, ok := v.number(); ok {
			if st.pct == nil {
				st.pct = &pctState{}
				delta += 64
			}
			delta += st.pct.add(x)
		}
	case "count_distinct":
		if st.distinct == nil {
			st.distinct = &distinctState{}
			delta += 64
		}
		delta += st.distinct.add(v.text())
	case "min", "max", "sortsFirst", "sortsLast", "earliest", "latest":
		better := !st.has
		switch a.fn {
		case "min", "sortsFirst":
			better = better || compare(v, st.best) < 0
		case "max", "sortsLast":
			better = better || compare(v, st.best) > 0
		case "earliest":
			better = better || ts < st.bestTS
		case "latest":
			better = better || ts >= st.bestTS
		}
		if better {
			delta += int64(len(v.s) - len(st.best.s))
			v.s = strings.Clone(v.s)
			st.best, st.bestTS, st.has = v, ts, true
		}
	}
	return delta
}

// final is the aggregate's value; null when it saw no value to aggregate.
func (st *aggState) final(a *aggSpec) value {
	switch a.fn {
	case "count":
		return num(st.n)
	case "count_distinct":
		if st.distinct == nil {
			return num(0)
		}
		return num(st.distinct.count())
	case "sum":
		if st.nums == 0 {
			return null
		}
		return num(st.sum)
	case "avg":
		if st.nums == 0 {
			return null
		}
		return num(st.sum / st.nums)
	case "stddev":
		switch st.nums {
		case 0:
			return null
		case 1:
			return num(0)
		}
		return num(math.Sqrt(st.m2 / (st.nums - 1)))
	case "pct":
		if st.pct == nil {
			return null
		}
		x, _ := st.pct.value(a.pct)
		return num(x)
	case "min", "max", "sortsFirst", "sortsLast", "earliest", "latest":
		return st.best
	}
	return null
}

// table turns the groups into rows: the by columns then the items, an
// item without a value left out; a bin() key is also the row's
// @timestamp.
func (gs *groupSet) table(c *statsCmd) []*trow {
	names := c.columns()
	rows := make([]*trow, 0, len(gs.order))
	ev := &record{}
	for _, g := range gs.order {
		t := &trow{set: make(map[string]value, len(names))}
		for i, b := range c.by {
			t.put(b.name, g.keys[i])
		}
		if c.binKey >= 0 {
			t.ts = g.keys[c.binKey]
		}
		ev.aggs = ev.aggs[:0]
		for i, a := range c.aggs {
			ev.aggs = append(ev.aggs, g.agg[i].final(a))
		}
		for _, it := range c.items {
			if v := it.e.eval(ev); v.present() {
				t.put(it.name, v)
			}
		}
		rows = append(rows, t)
	}
	return rows
}
