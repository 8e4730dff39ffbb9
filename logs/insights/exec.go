package insights

import (
	"encoding/binary"
	"math"
	"sort"
	"strings"
)

// group is one stats group: its key values and aggregate states.
type group struct {
	keys []value
	agg  []aggState
}

// aggState accumulates one aggregate.
type aggState struct {
	count, sum float64
	best       value
	bestTS     int64
	has        bool
}

// Add feeds one event. It returns false when the run needs no more events.
// Stats and filtering before the first stats command are applied; this
// first executor holds at most the row limit of plain rows, newest first.
func (r *Run) Add(ev *Event) bool {
	r.stats.RecordsScanned++
	r.stats.BytesScanned += float64(len(ev.Message))
	rec := &r.rec
	rec.reset(ev)
	for _, c := range r.q.cmds {
		switch c := c.(type) {
		case *fieldsCmd:
			for _, it := range c.items {
				if f, ok := it.e.(*fieldRef); ok && f.name == it.name {
					continue
				}
				rec.assign(it.name, it.e.eval(rec))
			}
		case *parseCmd:
			m := c.re.FindStringSubmatch(c.src.eval(rec).text())
			for i, n := range c.names {
				if n != "" && m != nil {
					rec.assign(n, str(m[i+1]))
				}
			}
		case *filterCmd:
			if !c.cond.eval(rec).truth() {
				return true
			}
		case *statsCmd:
			r.stats.RecordsMatched++
			r.aggregate(c, rec)
			return true
		default:
			r.stats.RecordsMatched++
			r.hold(ev)
			return true
		}
	}
	r.stats.RecordsMatched++
	r.hold(ev)
	return true
}

func (r *Run) hold(ev *Event) {
	cp := *ev
	r.held = append(r.held, heldRow{ev: cp, set: cloneSet(r.rec.set), keys: append([]string(nil), r.rec.keys...)})
	if len(r.held) > 2*DefaultLimit {
		r.trimHeld(DefaultLimit)
	}
}

func cloneSet(m map[string]value) map[string]value {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]value, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (r *Run) trimHeld(n int) {
	sort.SliceStable(r.held, func(i, j int) bool { return r.held[i].ev.Timestamp > r.held[j].ev.Timestamp })
	if len(r.held) > n {
		r.held = r.held[:n]
	}
}

func (r *Run) aggregate(c *statsCmd, rec *record) {
	r.keyBuf = r.keyBuf[:0]
	for _, b := range c.by {
		v := b.e.eval(rec)
		r.keyBuf = append(r.keyBuf, byte(v.k))
		if v.k == kStr {
			r.keyBuf = append(r.keyBuf, v.s...)
			r.keyBuf = append(r.keyBuf, 0)
		} else {
			r.keyBuf = binary.LittleEndian.AppendUint64(r.keyBuf, math.Float64bits(v.n))
		}
	}
	if r.groups == nil {
		r.groups = map[string]*group{}
	}
	g := r.groups[string(r.keyBuf)]
	if g == nil {
		g = &group{agg: make([]aggState, len(c.aggs))}
		for _, b := range c.by {
			v := b.e.eval(rec)
			v.s = strings.Clone(v.s)
			g.keys = append(g.keys, v)
		}
		r.groups[string(r.keyBuf)] = g
		r.order = append(r.order, g)
	}
	for i, a := range c.aggs {
		st := &g.agg[i]
		if a.arg == nil {
			st.count++
			continue
		}
		v := a.arg.eval(rec)
		if !v.present() {
			continue
		}
		st.count++
		if n, ok := v.number(); ok {
			st.sum += n
		}
		better := !st.has
		switch a.fn {
		case "min":
			better = better || compare(v, st.best) < 0
		case "max":
			better = better || compare(v, st.best) > 0
		case "earliest":
			better = better || rec.ev.Timestamp < st.bestTS
		case "latest":
			better = better || rec.ev.Timestamp >= st.bestTS
		}
		if better {
			v.s = strings.Clone(v.s)
			st.best, st.bestTS, st.has = v, rec.ev.Timestamp, true
		}
	}
}

func (st *aggState) final(fn string) value {
	switch fn {
	case "count":
		return num(st.count)
	case "sum":
		return num(st.sum)
	case "avg":
		if st.count == 0 {
			return null
		}
		return num(st.sum / st.count)
	case "min", "max", "earliest", "latest":
		return st.best
	}
	return num(math.NaN())
}

// Results returns the rows so far; it may be called between Adds.
func (r *Run) Results() [][]Field {
	var out [][]Field
	for _, c := range r.q.cmds {
		if sc, ok := c.(*statsCmd); ok {
			for _, g := range r.order {
				var row []Field
				for i, b := range sc.by {
					row = append(row, Field{Name: b.name, Value: g.keys[i].text()})
				}
				rec := &record{run: r}
				for i, a := range sc.aggs {
					rec.aggs = append(rec.aggs, g.agg[i].final(a.fn))
				}
				for _, it := range sc.items {
					if v := it.e.eval(rec); v.present() {
						row = append(row, Field{Name: it.name, Value: v.text()})
					}
				}
				out = append(out, row)
			}
			return r.limit(out)
		}
	}
	r.trimHeld(DefaultLimit)
	for i := range r.held {
		h := &r.held[i]
		rec := &record{run: r, ev: &h.ev, set: h.set, keys: h.keys}
		var row []Field
		for _, n := range append(append([]string(nil), systemFields...), h.keys...) {
			if v := rec.get(n, sysFieldOf(n)); v.present() {
				row = append(row, Field{Name: n, Value: v.text()})
			}
		}
		row = append(row, Field{Name: "@ptr", Value: r.ptr(&h.ev)})
		out = append(out, row)
	}
	return r.limit(out)
}

// limit cuts rows to the query's limit command, or DefaultLimit.
func (r *Run) limit(rows [][]Field) [][]Field {
	n := DefaultLimit
	for _, c := range r.q.cmds {
		if l, ok := c.(*limitCmd); ok {
			n = l.n
		}
	}
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

// heldRow is a matched event kept for the results.
type heldRow struct {
	ev   Event
	set  map[string]value
	keys []string
}
