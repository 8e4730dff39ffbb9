package query

import (
	"math"
	"slices"
	"strings"
)

// mathSeries is one time series on a period grid, ascending.
type mathSeries struct {
	times  []int64
	values []float64
	label  string     // of the metric, for the members of an array
	props  labelProps // of the metric, for the dynamic labels of an array's members
}

func (s *mathSeries) add(t int64, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return // x/0 and friends leave no point, as in CloudWatch
	}
	s.times = append(s.times, t)
	s.values = append(s.values, v)
}

// at returns the value at t.
func (s mathSeries) at(t int64) (float64, bool) {
	i, ok := slices.BinarySearch(s.times, t)
	if !ok {
		return 0, false
	}
	return s.values[i], true
}

type valueKind int

const (
	kindScalar valueKind = iota
	kindSeries
	kindList
	kindKeyword
	kindString
)

// mathValue is what an expression evaluates to.
type mathValue struct {
	kind   valueKind
	scalar float64
	series mathSeries
	list   []mathSeries
	text   string // keyword or string
}

func scalarValue(v float64) mathValue    { return mathValue{kind: kindScalar, scalar: v} }
func seriesValue(s mathSeries) mathValue { return mathValue{kind: kindSeries, series: s} }
func listValue(l []mathSeries) mathValue { return mathValue{kind: kindList, list: l} }
func (v mathValue) isSeriesLike() bool   { return v.kind == kindSeries || v.kind == kindList }
func (v mathValue) kindName() string {
	return [...]string{"a number", "a time series", "an array of time series", "a keyword", "a string"}[v.kind]
}
func (v mathValue) mapSeries(f func(mathSeries) mathSeries) mathValue {
	if v.kind == kindList {
		out := make([]mathSeries, len(v.list))
		for i, s := range v.list {
			out[i] = f(s)
			out[i].label, out[i].props = s.label, s.props
		}
		return listValue(out)
	}
	return seriesValue(f(v.series))
}

// mathEnv is what an expression is evaluated against.
type mathEnv struct {
	series    map[string]mathSeries   // results of the queries evaluated so far, by Id
	lists     map[string][]mathSeries // results that are arrays of time series, by Id
	metricIDs []string                // the MetricStat queries' Ids, in request order
	grid      func() []int64          // every period start of the request range
	unknown   func(t int64) bool      // the period at t touches time no store vouches for
	period    int64                   // of the expression's inputs
	search    func(n searchNode) ([]mathSeries, error)
}

// supportedFunctions are the functions this server evaluates; any other
// name is refused as not supported.
var supportedFunctions = []string{"ABS", "AVG", "CEIL", "DIFF", "DIFF_TIME", "FILL", "FLOOR", "IF", "LOG", "LOG10", "MAX", "METRICS", "MIN", "PERIOD", "RATE", "REMOVE_EMPTY", "SAMPLE_COUNT", "SQRT", "STDDEV", "SUM", "TIME_SERIES"}

func (e *mathEnv) eval(n mathNode) (mathValue, error) {
	switch n := n.(type) {
	case numNode:
		return scalarValue(n.v), nil
	case strNode:
		return mathValue{kind: kindString, text: n.s}, nil
	case kwNode:
		return mathValue{kind: kindKeyword, text: n.name}, nil
	case refNode:
		if l, ok := e.lists[n.id]; ok {
			return listValue(l), nil
		}
		s, ok := e.series[n.id]
		if !ok {
			return mathValue{}, mathError("The Id %s used in the expression is not defined.", n.id)
		}
		return seriesValue(s), nil
	case listNode:
		var out []mathSeries
		for _, item := range n.items {
			v, err := e.eval(item)
			if err != nil {
				return v, err
			}
			switch v.kind {
			case kindSeries:
				out = append(out, v.series)
			case kindList:
				out = append(out, v.list...)
			default:
				return v, mathError("An array in an expression holds time series only, not %s (%s).", v.kindName(), item)
			}
		}
		return listValue(out), nil
	case negNode:
		x, err := e.eval(n.x)
		if err != nil {
			return x, err
		}
		return arith("*", scalarValue(-1), x)
	case binNode:
		l, err := e.eval(n.l)
		if err != nil {
			return l, err
		}
		r, err := e.eval(n.r)
		if err != nil {
			return r, err
		}
		return arith(n.op, l, r)
	case callNode:
		return e.call(n)
	case searchNode:
		if e.search == nil {
			return mathValue{}, mathError("SEARCH cannot be evaluated here.")
		}
		l, err := e.search(n)
		return listValue(l), err
	}
	return mathValue{}, mathError("The expression %s cannot be evaluated.", n)
}

func applyOp(op string, a, b float64) float64 {
	bool01 := func(c bool) float64 {
		if c {
			return 1
		}
		return 0
	}
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		return a / b
	case "^":
		return math.Pow(a, b)
	case ">":
		return bool01(a > b)
	case "<":
		return bool01(a < b)
	case ">=":
		return bool01(a >= b)
	case "<=":
		return bool01(a <= b)
	case "==":
		return bool01(a == b)
	case "!=":
		return bool01(a != b)
	case "AND":
		return bool01(a != 0 && b != 0)
	case "OR":
		return bool01(a != 0 || b != 0)
	}
	return math.NaN()
}

// arith applies a binary operator: number with number, time series with
// number (every point), time series with time series (matching
// timestamps; a timestamp missing on one side has no point), and arrays
// with numbers or single series (each member).
func arith(op string, l, r mathValue) (mathValue, error) {
	for _, v := range []mathValue{l, r} {
		if v.kind == kindKeyword || v.kind == kindString {
			return v, mathError("The operator %s cannot take %s.", op, v.kindName())
		}
	}
	switch {
	case l.kind == kindScalar && r.kind == kindScalar:
		return scalarValue(applyOp(op, l.scalar, r.scalar)), nil
	case l.kind == kindList && r.kind == kindList:
		return l, mathError("The operator %s cannot take two arrays of time series.", op)
	case l.kind == kindList:
		return l.mapSeries(func(s mathSeries) mathSeries { return pairSeries(op, seriesValue(s), r) }), nil
	case r.kind == kindList:
		return r.mapSeries(func(s mathSeries) mathSeries { return pairSeries(op, l, seriesValue(s)) }), nil
	}
	return seriesValue(pairSeries(op, l, r)), nil
}

// pairSeries combines a series with a series or a number.
func pairSeries(op string, l, r mathValue) mathSeries {
	var out mathSeries
	switch {
	case l.kind == kindScalar:
		for i, t := range r.series.times {
			out.add(t, applyOp(op, l.scalar, r.series.values[i]))
		}
	case r.kind == kindScalar:
		for i, t := range l.series.times {
			out.add(t, applyOp(op, l.series.values[i], r.scalar))
		}
	default:
		a, b := l.series, r.series
		for i, j := 0, 0; i < len(a.times) && j < len(b.times); {
			switch {
			case a.times[i] < b.times[j]:
				i++
			case a.times[i] > b.times[j]:
				j++
			default:
				out.add(a.times[i], applyOp(op, a.values[i], b.values[j]))
				i++
				j++
			}
		}
	}
	return out
}

// checkCall refuses unsupported functions and wrong argument counts (the
// parser calls it, so that validation finds them without data).
func checkCall(n callNode) error {
	if !slices.Contains(supportedFunctions, n.name) {
		return mathError("The function %s is not supported by this server. Supported functions: %s.", n.name, strings.Join(supportedFunctions, ", "))
	}
	arity := map[string][2]int{"FILL": {2, 2}, "IF": {2, 3}, "METRICS": {0, 1}}[n.name]
	if arity == [2]int{} {
		arity = [2]int{1, 1}
	}
	if len(n.args) < arity[0] || len(n.args) > arity[1] {
		return mathError("The function %s takes %d argument(s), not %d.", n.name, arity[1], len(n.args))
	}
	return nil
}

func (e *mathEnv) call(n callNode) (mathValue, error) {
	if err := checkCall(n); err != nil {
		return mathValue{}, err
	}
	if n.name == "METRICS" {
		return e.metrics(n)
	}
	args := make([]mathValue, len(n.args))
	for i, a := range n.args {
		v, err := e.eval(a)
		if err != nil {
			return v, err
		}
		args[i] = v
	}
	switch n.name {
	case "SUM", "AVG", "MIN", "MAX", "SAMPLE_COUNT", "STDDEV":
		return reduce(n.name, args[0])
	case "PERIOD":
		if !args[0].isSeriesLike() {
			return args[0], mathError("The function PERIOD takes a time series, not %s.", args[0].kindName())
		}
		return scalarValue(float64(e.period)), nil
	case "TIME_SERIES":
		if args[0].kind != kindScalar {
			return args[0], nil
		}
		var flat mathSeries
		for _, t := range e.grid() {
			flat.add(t, args[0].scalar)
		}
		return seriesValue(flat), nil
	case "DIFF_TIME":
		if !args[0].isSeriesLike() {
			return args[0], mathError("The function DIFF_TIME takes a time series, not %s.", args[0].kindName())
		}
		return args[0].mapSeries(func(s mathSeries) mathSeries {
			var out mathSeries
			for i := 1; i < len(s.times); i++ {
				out.add(s.times[i], float64(s.times[i]-s.times[i-1]))
			}
			return out
		}), nil
	case "FILL":
		return e.fill(args[0], args[1])
	case "RATE", "DIFF":
		if !args[0].isSeriesLike() {
			return args[0], mathError("The function %s takes a time series, not %s.", n.name, args[0].kindName())
		}
		return args[0].mapSeries(func(s mathSeries) mathSeries { return diff(s, n.name == "RATE") }), nil
	case "IF":
		return ifValue(args)
	case "REMOVE_EMPTY": // the members of an array that have points
		if args[0].kind != kindList {
			return args[0], nil
		}
		return listValue(slices.DeleteFunc(slices.Clone(args[0].list), func(s mathSeries) bool { return len(s.times) == 0 })), nil
	}
	f := map[string]func(float64) float64{"ABS": math.Abs, "CEIL": math.Ceil, "FLOOR": math.Floor, "LOG": math.Log, "LOG10": math.Log10, "SQRT": math.Sqrt}[n.name]
	switch v := args[0]; v.kind {
	case kindScalar:
		return scalarValue(f(v.scalar)), nil
	case kindSeries, kindList:
		return v.mapSeries(func(s mathSeries) mathSeries {
			var out mathSeries
			for i, t := range s.times {
				out.add(t, f(s.values[i]))
			}
			return out
		}), nil
	default:
		return v, mathError("The function %s takes a number or a time series, not %s.", n.name, v.kindName())
	}
}

// metrics is METRICS() or METRICS("prefix"): the MetricStat queries' results
// whose Id starts with prefix, in request order.
func (e *mathEnv) metrics(n callNode) (mathValue, error) {
	prefix := ""
	switch {
	case len(n.args) > 1:
		return mathValue{}, mathError("The function METRICS takes at most one argument, not %d.", len(n.args))
	case len(n.args) == 1:
		s, ok := n.args[0].(strNode)
		if !ok {
			return mathValue{}, mathError("The argument of METRICS must be a quoted string, not %s.", n.args[0])
		}
		prefix = s.s
	}
	out := []mathSeries{}
	for _, id := range e.metricIDs {
		if strings.HasPrefix(id, prefix) {
			out = append(out, e.series[id])
		}
	}
	return listValue(out), nil
}

// reduce is SUM, AVG, MIN, MAX and SAMPLE_COUNT. Over an array of time
// series it reduces, timestamp by timestamp, the values present at that
// timestamp (a time series). Over one time series it reduces all its points
// into a number, as CloudWatch does ("AVG(m1)" is the average of m1 over
// the whole range); over a number it is that number (SAMPLE_COUNT: 1).
func reduce(name string, v mathValue) (mathValue, error) {
	switch v.kind {
	case kindScalar:
		if name == "SAMPLE_COUNT" {
			return scalarValue(1), nil
		}
		return v, nil
	case kindSeries:
		return scalarValue(reduceValues(name, v.series.values)), nil
	case kindList:
		byTime := map[int64][]float64{}
		for _, s := range v.list {
			for i, t := range s.times {
				byTime[t] = append(byTime[t], s.values[i])
			}
		}
		times := make([]int64, 0, len(byTime))
		for t := range byTime {
			times = append(times, t)
		}
		slices.Sort(times)
		var out mathSeries
		for _, t := range times {
			out.add(t, reduceValues(name, byTime[t]))
		}
		return seriesValue(out), nil
	}
	return v, mathError("The function %s takes a time series or an array of time series, not %s.", name, v.kindName())
}

func reduceValues(name string, vs []float64) float64 {
	if name == "SAMPLE_COUNT" {
		return float64(len(vs))
	}
	if len(vs) == 0 {
		return math.NaN() // no value: leaves no point
	}
	if name == "STDDEV" { // population standard deviation
		mean := reduceValues("AVG", vs)
		var sq float64
		for _, x := range vs {
			sq += (x - mean) * (x - mean)
		}
		return math.Sqrt(sq / float64(len(vs)))
	}
	acc := vs[0]
	for _, x := range vs[1:] {
		switch name {
		case "SUM", "AVG":
			acc += x
		case "MIN":
			acc = min(acc, x)
		case "MAX":
			acc = max(acc, x)
		}
	}
	if name == "AVG" {
		acc /= float64(len(vs))
	}
	return acc
}

// diff is DIFF (the change from the previous point) and RATE (that change
// per second of the time between the points). The first point has none.
func diff(s mathSeries, perSecond bool) mathSeries {
	var out mathSeries
	for i := 1; i < len(s.times); i++ {
		d := s.values[i] - s.values[i-1]
		if perSecond {
			d /= float64(s.times[i] - s.times[i-1])
		}
		out.add(s.times[i], d)
	}
	return out
}

// ifValue is IF(condition, a[, b]): at every point of the condition, a
// where it is not zero, else b; a missing a or b (or b omitted) leaves no
// point. A number as the condition picks a or b whole.
func ifValue(args []mathValue) (mathValue, error) {
	for _, a := range args {
		if a.kind != kindScalar && a.kind != kindSeries {
			return a, mathError("The function IF takes numbers and time series, not %s.", a.kindName())
		}
	}
	cond := args[0]
	if cond.kind == kindScalar {
		switch {
		case cond.scalar != 0:
			return args[1], nil
		case len(args) == 3:
			return args[2], nil
		}
		return seriesValue(mathSeries{}), nil
	}
	pick := func(v mathValue, t int64) (float64, bool) {
		if v.kind == kindScalar {
			return v.scalar, true
		}
		return v.series.at(t)
	}
	var out mathSeries
	for i, t := range cond.series.times {
		branch := 1
		if cond.series.values[i] == 0 {
			branch = 2
		}
		if branch >= len(args) {
			continue
		}
		if x, ok := pick(args[branch], t); ok {
			out.add(t, x)
		}
	}
	return seriesValue(out), nil
}

// fill is FILL(series, value|REPEAT|LINEAR): every period of the request
// range without a point gets the value; REPEAT repeats the latest earlier
// point, LINEAR interpolates between the points around; before the first
// point both take the first point, after the last the last. Periods no
// store can vouch for stay empty (docs/design.md §6: unknown is not missing). A
// series without any point stays empty under REPEAT and LINEAR.
func (e *mathEnv) fill(v, with mathValue) (mathValue, error) {
	if !v.isSeriesLike() {
		return v, mathError("The function FILL takes a time series first, not %s.", v.kindName())
	}
	switch with.kind {
	case kindKeyword, kindScalar:
	default:
		return with, mathError("The second argument of FILL must be a number, REPEAT or LINEAR, not %s.", with.kindName())
	}
	grid := e.grid()
	return v.mapSeries(func(s mathSeries) mathSeries {
		var out mathSeries
		i := 0 // index of the first point at or after t
		for _, t := range grid {
			for i < len(s.times) && s.times[i] < t {
				i++
			}
			if i < len(s.times) && s.times[i] == t {
				out.add(t, s.values[i])
				continue
			}
			if e.unknown != nil && e.unknown(t) {
				continue // unknown is not missing: FILL never invents data there
			}
			out.add(t, fillValue(s, i, t, with))
		}
		return out
	}), nil
}

// fillValue is the value for a missing t; i is the index of s's first point
// after t.
func fillValue(s mathSeries, i int, t int64, with mathValue) float64 {
	if with.kind == kindScalar {
		return with.scalar
	}
	n := len(s.times)
	switch {
	case n == 0:
		return math.NaN()
	case i == 0:
		return s.values[0]
	case i == n || with.text == "REPEAT":
		return s.values[i-1]
	}
	t0, t1 := s.times[i-1], s.times[i]
	v0, v1 := s.values[i-1], s.values[i]
	return v0 + (v1-v0)*float64(t-t0)/float64(t1-t0)
}
