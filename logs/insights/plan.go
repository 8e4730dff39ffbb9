package insights

import "strings"

// MaxStatsCommands is the most stats commands one query may hold: AWS
// allows a second stats that aggregates the rows of the first.
const MaxStatsCommands = 2

// plan is how a Run executes a query. Commands up to the first stats or
// limit run per event (the per-event stage); that command then accumulates
// (stats groups, or the top rows of the current order); the commands after
// it (the tail) run over the accumulated table each time Results is asked.
type plan struct {
	pre   []stage   // the per-event stage
	stats *statsCmd // the accumulator when it is a stats command
	limit *limitCmd // the limit that ends the per-event stage, nil for the default one
	dedup *dedupCmd // a dedup in the per-event stage (only limit may follow it)
	descs []bool    // per order value: descending; the last is @timestamp desc
	tail  []command
	// hasLimit tells that some limit command bounds the rows, so the
	// default limit does not apply.
	hasLimit bool
	// cols are the columns of an event row when a fields command
	// projects: every fields and parse name, in command order.
	cols []string
}

// stage is one per-event command; off is where a sort's keys go in the
// row's order values.
type stage struct {
	c   command
	off int
}

// columns are a stats command's output columns: its by names, then its
// items' names.
func (c *statsCmd) columns() []string {
	out := make([]string, 0, len(c.by)+len(c.items))
	for _, b := range c.by {
		out = append(out, b.name)
	}
	for _, it := range c.items {
		out = append(out, it.name)
	}
	return out
}

// check validates the whole pipeline once every command is parsed, then
// plans it.
func (q *Query) check() error {
	nstats := 0
	var known map[string]bool // the names a command may read, after a stats; nil before
	unknown := func(e expr) error {
		var bad *fieldRef
		walk(e, func(x expr) {
			if f, ok := x.(*fieldRef); ok && known != nil && !known[f.name] && bad == nil {
				bad = f
			}
		})
		if bad != nil {
			return errAt(q.text, bad.pos, bad.end, "Unknown symbols found in or after stats: %s", echoText(bad.name))
		}
		return nil
	}
	for i, c := range q.cmds {
		if _, isLimit := c.(*limitCmd); !isLimit && afterDedup(q.cmds[:i]) {
			return errAt(q.text, 0, len(q.text), "only limit may follow dedup, not %s", c.cmdName())
		}
		var exprs []expr
		switch c := c.(type) {
		case *fieldsCmd:
			for _, it := range c.items {
				exprs = append(exprs, it.e)
			}
		case *filterCmd:
			exprs = append(exprs, c.cond)
		case *parseCmd:
			exprs = append(exprs, c.src)
		case *sortCmd:
			for _, k := range c.keys {
				exprs = append(exprs, k.e)
			}
		case *dedupCmd:
			for _, it := range c.items {
				exprs = append(exprs, it.e)
			}
		case *statsCmd:
			nstats++
			if nstats > MaxStatsCommands {
				return errAt(q.text, 0, len(q.text), "a query may hold at most %d stats commands", MaxStatsCommands)
			}
			for _, a := range c.aggs {
				exprs = append(exprs, a.arg)
			}
			for _, b := range c.by {
				exprs = append(exprs, b.e)
			}
		}
		for _, e := range exprs {
			if err := unknown(e); err != nil {
				return err
			}
		}
		switch c := c.(type) {
		case *fieldsCmd:
			if known != nil {
				for _, it := range c.items {
					known[it.name] = true
				}
			}
		case *parseCmd:
			if known != nil {
				for _, n := range c.names {
					known[n] = true
				}
			}
		case *statsCmd:
			known = map[string]bool{}
			for _, n := range c.columns() {
				known[n] = true
			}
		}
	}
	if q.display != nil {
		for _, it := range q.display.items {
			if err := unknown(it.e); err != nil {
				return err
			}
		}
	}
	q.plan = q.compile()
	return nil
}

// afterDedup tells whether a dedup precedes, with only limits after it.
func afterDedup(cmds []command) bool {
	for i := len(cmds) - 1; i >= 0; i-- {
		switch cmds[i].(type) {
		case *dedupCmd:
			return true
		case *limitCmd:
			continue
		}
		return false
	}
	return false
}

// compile splits the commands into the per-event stage, the accumulator
// and the tail.
func (q *Query) compile() plan {
	var p plan
	i := 0
	var sorts []*sortCmd
scan:
	for ; i < len(q.cmds); i++ {
		switch c := q.cmds[i].(type) {
		case *statsCmd:
			p.stats = c
			break scan
		case *limitCmd:
			p.limit = c
			break scan
		case *sortCmd:
			sorts = append(sorts, c)
		case *dedupCmd:
			p.dedup = c
		}
		p.pre = append(p.pre, stage{c: q.cmds[i]})
	}
	if i < len(q.cmds) {
		p.tail = q.cmds[i+1:]
	}
	// The last sort orders first; earlier ones break its ties, then
	// @timestamp desc (the default order), then arrival.
	off := make(map[*sortCmd]int, len(sorts))
	for j := len(sorts) - 1; j >= 0; j-- {
		off[sorts[j]] = len(p.descs)
		for _, k := range sorts[j].keys {
			p.descs = append(p.descs, k.desc)
		}
	}
	p.descs = append(p.descs, true)
	kept := p.pre[:0]
	for _, st := range p.pre {
		if s, ok := st.c.(*sortCmd); ok {
			if p.stats != nil {
				continue // a sort before stats orders nothing
			}
			st.off = off[s]
		}
		kept = append(kept, st)
	}
	p.pre = kept
	seen := map[string]bool{}
	project := false
	for _, c := range q.cmds {
		if _, ok := c.(*statsCmd); ok {
			break
		}
		var names []string
		switch c := c.(type) {
		case *limitCmd:
			p.hasLimit = true
		case *fieldsCmd:
			project = true
			for _, it := range c.items {
				names = append(names, it.name)
			}
		case *parseCmd:
			for _, n := range c.names {
				if n != "" {
					names = append(names, n)
				}
			}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				p.cols = append(p.cols, n)
			}
		}
	}
	for _, c := range q.cmds {
		if _, ok := c.(*limitCmd); ok {
			p.hasLimit = true
		}
	}
	if !project {
		p.cols = nil
	}
	return p
}

// isBin tells whether an expression is a bin() call.
func isBin(e expr) bool {
	c, ok := e.(*callExpr)
	return ok && strings.EqualFold(c.fn.name, "bin")
}
