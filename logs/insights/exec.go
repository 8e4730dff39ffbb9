package insights

import (
	"maps"
	"math"
	"slices"
)

// Add feeds one event. It returns false when the run needs no more events:
// a limit any has its rows, or the run hit a bound (see Err).
func (r *Run) Add(ev *Event) bool {
	if r.err != nil || r.done {
		return false
	}
	r.stats.RecordsScanned++
	r.stats.BytesScanned += float64(len(ev.Message))
	rec := &r.rec
	rec.reset(ev)
	pl := &r.q.plan
	hasKey := false
	for _, st := range pl.pre {
		switch c := st.c.(type) {
		case *fieldsCmd:
			applyFields(rec, c)
		case *parseCmd:
			r.caps = applyParse(rec, c, r.caps)
		case *filterCmd:
			if !c.cond.eval(rec).truth() {
				return true
			}
		case *sortCmd:
			for i, k := range c.keys {
				r.ord[st.off+i] = mkSortVal(k.e.eval(rec))
			}
		case *dedupCmd:
			r.dkey, hasKey = dedupKey(r.dkey[:0], c, rec)
		}
	}
	r.stats.RecordsMatched++
	if pl.stats != nil {
		r.err = r.groups.add(pl.stats, rec)
		return r.err == nil
	}
	r.ord[len(r.ord)-1] = sortVal{v: tm(float64(ev.Timestamp)), n: float64(ev.Timestamp), isNum: true}
	r.err = r.top.offer(rec, r.ord, r.dkey, hasKey)
	if pl.limit != nil && pl.limit.any && len(r.top.rows) >= r.top.k {
		r.done = true
	}
	return r.err == nil && !r.done
}

func applyFields(rec *record, c *fieldsCmd) {
	for _, it := range c.items {
		if f, ok := it.e.(*fieldRef); ok && f.name == it.name {
			continue
		}
		rec.assign(it.name, it.e.eval(rec))
	}
}

// applyParse sets the fields a parse command captures; caps is scratch
// space, returned for reuse.
func applyParse(rec *record, c *parseCmd, caps []string) []string {
	src := c.src.eval(rec).text()
	if c.glob != nil {
		var ok bool
		if caps, ok = matchGlob(src, c.glob, caps); ok {
			for i, n := range c.names {
				rec.assign(n, str(caps[i]))
			}
		}
		return caps
	}
	m := c.re.FindStringSubmatch(src)
	for i, n := range c.names {
		if n != "" && m != nil {
			rec.assign(n, str(m[i+1]))
		}
	}
	return caps
}

// dedupKey encodes the dedup fields of the record; ok is false when one is
// missing (such rows are never duplicates).
func dedupKey(b []byte, c *dedupCmd, rec *record) ([]byte, bool) {
	for _, it := range c.items {
		v := it.e.eval(rec)
		if !v.present() {
			return b, false
		}
		b = appendKey(b, v)
	}
	return b, true
}

// trow is one row of a table: an event row (ev set) or a stats row.
type trow struct {
	ev   *Event
	set  map[string]value
	keys []string
	ts   value
}

// put sets a column of a stats row.
func (t *trow) put(name string, v value) {
	if _, ok := t.set[name]; !ok {
		t.keys = append(t.keys, name)
	}
	t.set[name] = v
}

// point aims a record at a table row.
func (r *record) point(t *trow) {
	r.ev, r.set, r.keys, r.ts = t.ev, t.set, t.keys, t.ts
	if r.jsonDone {
		clear(r.json)
		r.jsonKeys = r.jsonKeys[:0]
		r.jsonDone = false
	}
}

// Results returns the rows so far. It may be called between Adds: it
// reads the run's state and builds its answer afresh, so asking changes
// no later answer.
func (r *Run) Results() [][]Field {
	pl := &r.q.plan
	var rows []*trow
	if pl.stats != nil {
		rows = r.groups.table(pl.stats)
	} else {
		writes := writesRows(pl.tail)
		for _, h := range r.top.sorted() {
			t := &trow{ev: &h.ev, set: h.set, keys: h.keys}
			if writes {
				t.set, t.keys = maps.Clone(h.set), slices.Clone(h.keys)
			}
			rows = append(rows, t)
		}
	}
	rows = r.runTail(rows, pl.tail)
	if n := r.defaultLimit(); !pl.hasLimit && len(rows) > n {
		rows = rows[:n]
	}
	return r.project(rows)
}

// writesRows tells whether commands change a table row's fields.
func writesRows(cmds []command) bool {
	for _, c := range cmds {
		switch c.(type) {
		case *fieldsCmd, *parseCmd:
			return true
		}
	}
	return false
}

// runTail runs the commands after the accumulator over the table.
func (r *Run) runTail(rows []*trow, cmds []command) []*trow {
	rec := &record{run: r}
	var caps []string
	for _, c := range cmds {
		switch c := c.(type) {
		case *fieldsCmd:
			for _, t := range rows {
				rec.point(t)
				applyFields(rec, c)
				t.set, t.keys = rec.set, rec.keys
			}
		case *parseCmd:
			for _, t := range rows {
				rec.point(t)
				caps = applyParse(rec, c, caps)
				t.set, t.keys = rec.set, rec.keys
			}
		case *filterCmd:
			kept := rows[:0]
			for _, t := range rows {
				rec.point(t)
				if c.cond.eval(rec).truth() {
					kept = append(kept, t)
				}
			}
			rows = kept
		case *sortCmd:
			rows = sortTable(rec, rows, c)
		case *dedupCmd:
			seen := map[string]bool{}
			kept := rows[:0]
			var b []byte
			for _, t := range rows {
				rec.point(t)
				var ok bool
				b, ok = dedupKey(b[:0], c, rec)
				if ok && seen[string(b)] {
					continue
				}
				if ok {
					seen[string(b)] = true
				}
				kept = append(kept, t)
			}
			rows = kept
		case *limitCmd:
			if len(rows) > c.n {
				rows = rows[:c.n]
			}
		case *statsCmd:
			// The table is already bounded; a second stats holds no more.
			gs := groupSet{lim: &limits{maxGroups: math.MaxInt, maxBytes: math.MaxInt64}}
			for _, t := range rows {
				rec.point(t)
				_ = gs.add(c, rec)
			}
			rows = gs.table(c)
		}
	}
	return rows
}

// sortTable is a stable sort of the table by the command's keys (a
// missing value last in either direction).
func sortTable(rec *record, rows []*trow, c *sortCmd) []*trow {
	type keyed struct {
		t   *trow
		ord []sortVal
	}
	descs := make([]bool, len(c.keys))
	ks := make([]keyed, len(rows))
	for i, t := range rows {
		rec.point(t)
		ord := make([]sortVal, len(c.keys))
		for j, k := range c.keys {
			ord[j] = mkSortVal(k.e.eval(rec))
			descs[j] = k.desc
		}
		ks[i] = keyed{t, ord}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return cmpOrd(descs, a.ord, 0, b.ord, 0) })
	for i := range ks {
		rows[i] = ks[i].t
	}
	return rows
}

// project turns the table into result rows. The last display chooses the
// columns; else a stats row shows its columns, an event row the names of
// the fields and parse commands when a fields command projects, else the
// system fields and the names parse set. Event rows end with @ptr. A
// column without a value is left out.
func (r *Run) project(rows []*trow) [][]Field {
	pl := &r.q.plan
	rec := &record{run: r}
	out := make([][]Field, 0, len(rows))
	for _, t := range rows {
		rec.point(t)
		var row []Field
		add := func(name string, v value) {
			if v.present() {
				row = append(row, Field{Name: name, Value: v.text()})
			}
		}
		switch {
		case r.q.display != nil:
			for _, it := range r.q.display.items {
				add(it.name, it.e.eval(rec))
			}
		case t.ev == nil:
			for _, k := range t.keys {
				add(k, t.set[k])
			}
		case pl.cols != nil:
			for _, n := range pl.cols {
				add(n, rec.get(n, sysFieldOf(n)))
			}
		default:
			for _, n := range systemFields {
				add(n, rec.get(n, sysFieldOf(n)))
			}
			for _, k := range t.keys {
				if sysFieldOf(k) == sysNone {
					add(k, t.set[k])
				}
			}
		}
		if t.ev != nil {
			row = append(row, Field{Name: "@ptr", Value: r.ptr(t.ev)})
		}
		out = append(out, row)
	}
	return out
}
