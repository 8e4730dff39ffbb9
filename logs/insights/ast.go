package insights

import "regexp"

// expr is an expression node. eval never allocates for the system fields
// and for comparisons; string functions allocate their results.
type expr interface {
	eval(r *record) value
}

type (
	// lit is a constant.
	lit struct{ v value }

	// durationLit is a period such as 5m: ms for fixed units, months for
	// the calendar ones (mo, q, y).
	durationLit struct {
		ms     float64
		months int
	}

	// fieldRef reads a field of the record.
	fieldRef struct {
		name     string
		sys      sysField
		pos, end int // byte offsets in the query, for errors (0, 0 when implied)
	}

	// unaryExpr is -x or not x.
	unaryExpr struct {
		op string
		x  expr
	}

	// binaryExpr is arithmetic or a comparison.
	binaryExpr struct {
		op   string
		a, b expr
	}

	// logicExpr is a and b, a or b.
	logicExpr struct {
		and  bool
		a, b expr
	}

	// likeExpr is x like "sub", x like /re/, x =~ /re/ (neg for not like).
	likeExpr struct {
		x   expr
		sub string         // when re is nil: a substring test
		re  *regexp.Regexp // a regex test
		neg bool
	}

	// inExpr is x in [a, b] (neg for not in).
	inExpr struct {
		x    expr
		list []expr
		neg  bool
	}

	// callExpr is a scalar function call.
	callExpr struct {
		fn   *function
		args []expr
	}

	// aggRef reads one aggregate of the current stats group: stats
	// expressions may combine aggregates (sum(a) / count(*)).
	aggRef struct{ i int }
)

// namedExpr is an expression and the column it fills.
type namedExpr struct {
	name string
	e    expr
}

// command is one stage of the pipeline.
type command interface{ cmdName() string }

type (
	fieldsCmd  struct{ items []namedExpr }
	displayCmd struct{ items []namedExpr }
	filterCmd  struct{ cond expr }
	parseCmd   struct {
		src   expr
		re    *regexp.Regexp
		glob  []string // a glob's literal parts, matched without re (nil for a regex)
		names []string // the field each capture group fills, "" for an unnamed group
	}
	statsCmd struct {
		items  []namedExpr // expressions over aggRefs
		aggs   []*aggSpec
		by     []namedExpr
		binKey int // the index in by of a bin() key, -1 for none: its value is the output rows' @timestamp
	}
	sortCmd  struct{ keys []sortKey }
	limitCmd struct {
		n   int
		any bool
	}
	dedupCmd struct{ items []namedExpr }
)

func (*fieldsCmd) cmdName() string  { return "fields" }
func (*displayCmd) cmdName() string { return "display" }
func (*filterCmd) cmdName() string  { return "filter" }
func (*parseCmd) cmdName() string   { return "parse" }
func (*statsCmd) cmdName() string   { return "stats" }
func (*sortCmd) cmdName() string    { return "sort" }
func (*limitCmd) cmdName() string   { return "limit" }
func (*dedupCmd) cmdName() string   { return "dedup" }

// sortKey is one sort expression.
type sortKey struct {
	e    expr
	desc bool
}

// aggSpec is one aggregate call in a stats command.
type aggSpec struct {
	fn   string // count, count_distinct, sum, avg, min, max, pct, stddev, earliest, latest, sortsFirst, sortsLast
	arg  expr   // nil for count(*)
	pct  float64
	text string
}
