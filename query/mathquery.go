package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// Metric math (GetMetricData Expression queries, and alarms through
// [Service.EvaluateQueries]).
//
// Syntax: numbers, Ids of other queries, + - * / ^, unary minus,
// comparisons > < >= <= == != (1 or 0), AND/&& and OR/||, parentheses,
// arrays [a, b], and the functions SUM AVG MIN MAX SAMPLE_COUNT,
// STDDEV, METRICS() and METRICS("prefix"), FILL(x, number|REPEAT|LINEAR),
// RATE, DIFF, DIFF_TIME, PERIOD, TIME_SERIES, IF(cond, a[, b]), ABS CEIL
// FLOOR LOG LOG10 SQRT, REMOVE_EMPTY, and SEARCH (search.go; not in
// alarms). Any other function (ANOMALY_DETECTION_BAND, ...) is refused with
// InvalidParameterValue naming it. An Expression starting with SELECT is a
// Metrics Insights query (insights_eval.go) in GetMetricData, where math may
// use its results by Id; alarms refuse it.
//
// Semantics: series op series pairs equal timestamps (a timestamp missing on
// either side has no point); series op number applies to every point; a
// point whose value is not finite (x/0) is dropped. SUM, AVG, MIN, MAX and
// SAMPLE_COUNT over an array reduce, timestamp by timestamp, the values
// present there; over a single series they reduce it to a number (AWS's
// "AVG of a single time series returns a scalar"), so m1 - AVG(m1) works.
// A number as the final result is a flat line over every period of the
// request. FILL fills every period of the request without a point, except
// periods no store can vouch for (unknown is not missing, docs/design.md §6).
// RATE is the change per second from the previous point, DIFF the change.
//
// Rules: an expression has no period of its own: it takes its inputs',
// which must all be equal; it needs at least one metric input. References
// must name queries of the request and must not form a cycle. ReturnData
// false hides a query; an expression's Label defaults to its Id. A result is
// PartialData when any input touched unknown time. An expression returning
// an array answers one result per member, labelled "<label> <metric label>".

// maxFillPeriods bounds the grid FILL and number results spread over.
const maxFillPeriods = 1_000_000

// parseExpression reads an Expression query's metric math into q.
func parseExpression(src, path string, q *dataQuery) error {
	if len(src) < 1 || len(src) > maxExpressionLen {
		return awsapi.ConstraintError(src, awsapi.CoralPath(path), "have length between 1 and 2048")
	}
	n, err := parseMath(src)
	if se, ok := errors.AsType[*searchError](err); ok {
		return awsapi.ValidationError("Invalid SEARCH expression in query %s: %s.", q.id, se.msg)
	}
	if err != nil {
		return awsapi.InvalidParameterValue("The parameter %s is invalid: %s", path, errMessage(err))
	}
	q.expression, q.ast = src, n
	return nil
}

func errMessage(err error) string {
	if e, ok := errors.AsType[*awsapi.Error](err); ok {
		return e.Message
	}
	return err.Error()
}

// mathPlan is the order in which a request's expressions evaluate (every
// expression after the ones it uses) and each query's period.
type mathPlan struct {
	order  []int            // indexes of the expression queries
	period map[string]int64 // by Id, MetricStat and expression queries
}

// planMath checks the expressions' references (known Ids, no cycles) and
// periods (all inputs of one expression share theirs).
func planMath(queries []dataQuery) (mathPlan, error) {
	byID := map[string]int{}
	var metricIDs []string
	plan := mathPlan{period: map[string]int64{}}
	for i, q := range queries {
		byID[q.id] = i
		if q.ast == nil {
			metricIDs = append(metricIDs, q.id)
			plan.period[q.id] = q.period
		}
	}
	deps := func(q dataQuery) []string {
		var out []string
		mathRefs(q.ast, func(id string) { out = append(out, id) }, func(prefix string) {
			for _, id := range metricIDs {
				if strings.HasPrefix(id, prefix) {
					out = append(out, id)
				}
			}
		})
		return out
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(id string) error
	visit = func(id string) error {
		q := queries[byID[id]]
		switch state[id] {
		case done:
			return nil
		case visiting:
			cycle := append(slices.Clone(stack[slices.Index(stack, id):]), id)
			return awsapi.InvalidParameterValue("The expressions form a cycle: %s. An expression cannot use its own result.", strings.Join(cycle, " -> "))
		}
		if q.ast == nil {
			state[id] = done
			return nil
		}
		state[id] = visiting
		stack = append(stack, id)
		var period int64
		var periodFrom string
		share := func(from string, p int64) error {
			switch {
			case period == 0:
				period, periodFrom = p, from
			case p != period:
				return awsapi.InvalidParameterValue("The inputs of the expression of query %s must share one period: %s has %d seconds and %s has %d.", id, periodFrom, period, from, p)
			}
			return nil
		}
		for _, d := range deps(q) {
			if _, ok := byID[d]; !ok {
				return awsapi.InvalidParameterValue("The expression of query %s uses the Id %s, which no query of the request has.", id, d)
			}
			if err := visit(d); err != nil {
				return err
			}
			if err := share(d, plan.period[d]); err != nil {
				return err
			}
		}
		for _, sn := range searchesOf(q.ast) {
			p := cmp.Or(sn.period, q.period)
			if p == 0 {
				return awsapi.ValidationError("Invalid SEARCH expression in query %s: it has no period: give SEARCH a third argument or the query a Period.", id)
			}
			if err := share(sn.String(), p); err != nil {
				return err
			}
		}
		if period == 0 {
			return awsapi.InvalidParameterValue("The expression of query %s uses no metric: it needs at least one MetricStat query (by Id or METRICS()) to take its period from.", id)
		}
		plan.period[id] = period
		stack = stack[:len(stack)-1]
		state[id] = done
		plan.order = append(plan.order, byID[id])
		return nil
	}
	for _, q := range queries {
		if err := visit(q.id); err != nil {
			return plan, err
		}
	}
	return plan, nil
}

// runQueries answers a request's queries: MetricStat reads and metric math.
// Results come for the queries with ReturnData, in request order, each
// ordered by scanBy.
func (s *Service) runQueries(view *coverageView, tenant string, queries []dataQuery, start, end time.Time, scanBy string, used *answered) ([]dataResult, error) {
	if !slices.ContainsFunc(queries, func(q dataQuery) bool { return q.ast != nil }) {
		var results []dataResult
		for _, q := range queries {
			switch {
			case q.returnData && q.insights != nil:
				results = append(results, ordered(s.runInsights(view, tenant, q, start, end, used), scanBy)...)
			case q.returnData:
				results = append(results, s.runDataQuery(view, tenant, q, start, end, scanBy, used))
			}
		}
		return results, nil
	}
	all, err := s.evaluate(view, tenant, queries, start, end, used)
	if err != nil {
		return nil, err
	}
	var results []dataResult
	for _, q := range queries {
		if !q.returnData {
			continue
		}
		results = append(results, ordered(all[q.id], scanBy)...)
	}
	return results, nil
}

// ordered returns ascending results in scanBy's order.
func ordered(rs []dataResult, scanBy string) []dataResult {
	if scanBy != scanDescending {
		return rs
	}
	out := make([]dataResult, len(rs))
	for i, r := range rs {
		r.times, r.values = slices.Clone(r.times), slices.Clone(r.values)
		slices.Reverse(r.times)
		slices.Reverse(r.values)
		out[i] = r
	}
	return out
}

// evaluate reads every MetricStat query and evaluates every expression, in
// dependency order; results are ascending. A query has one result, but an
// expression that returns an array of time series (FILL(METRICS(), 0)) has
// one per member, all with its Id, labelled "<its label> <member's label>".
func (s *Service) evaluate(view *coverageView, tenant string, queries []dataQuery, start, end time.Time, used *answered) (map[string][]dataResult, error) {
	plan, err := planMath(queries)
	if err != nil {
		return nil, err
	}
	all := map[string][]dataResult{}
	var searchLabelled []dataQuery // queries whose results have SEARCH's default labels
	env := &mathEnv{series: map[string]mathSeries{}, lists: map[string][]mathSeries{}}
	for _, q := range queries {
		if q.ast != nil {
			continue
		}
		if q.insights != nil { // math may use its results: one series, or an array
			rs := s.runInsights(view, tenant, q, start, end, used)
			all[q.id] = rs
			if len(rs) == 1 {
				env.metricIDs = append(env.metricIDs, q.id)
				env.series[q.id] = mathSeries{times: rs[0].times, values: rs[0].values, label: rs[0].label}
				continue
			}
			list := make([]mathSeries, len(rs))
			for i, r := range rs {
				list[i] = mathSeries{times: r.times, values: r.values, label: r.label}
			}
			env.lists[q.id] = list
			continue
		}
		r := s.runDataQuery(view, tenant, q, start, end, scanAscending, used)
		all[q.id] = []dataResult{r}
		env.metricIDs = append(env.metricIDs, q.id)
		env.series[q.id] = mathSeries{times: r.times, values: r.values, label: r.label, props: r.props}
	}
	for _, i := range plan.order {
		q := queries[i]
		period := plan.period[q.id]
		var gridErr error
		env.grid = func() []int64 {
			from, to := alignStart(start.Unix(), period), ceilSeconds(end)
			if (to-from)/period > maxFillPeriods {
				gridErr = awsapi.InvalidParameterValue("The expression of query %s would fill more than %d periods: shorten the time range or use a longer period.", q.id, maxFillPeriods)
				return nil
			}
			var grid []int64
			for t := from; t < to; t += period {
				grid = append(grid, t)
			}
			return grid
		}
		env.period = period
		searchUnknown := false
		env.search = func(n searchNode) ([]mathSeries, error) {
			list, unknown := s.search(view, tenant, q.id, n, cmp.Or(n.period, q.period), start, end, used)
			searchUnknown = searchUnknown || unknown
			return list, nil
		}
		env.unknown = func(t int64) bool {
			return len(intervals.Intersect(used.unknown, intervals.Set{{From: t, To: t + period}})) > 0
		}
		v, err := env.eval(q.ast)
		if err == nil {
			err = gridErr
		}
		if err != nil {
			return nil, awsapi.InvalidParameterValue("The expression of query %s cannot be evaluated: %s", q.id, errMessage(err))
		}
		var out []mathSeries
		switch v.kind {
		case kindSeries:
			out = []mathSeries{v.series}
			env.series[q.id] = v.series
		case kindScalar: // a number is a flat line over the request range
			var flat mathSeries
			for _, t := range env.grid() {
				flat.add(t, v.scalar)
			}
			if gridErr != nil {
				return nil, gridErr
			}
			out = []mathSeries{flat}
			env.series[q.id] = flat
		case kindList:
			out = v.list
			env.lists[q.id] = v.list
		default:
			return nil, awsapi.InvalidParameterValue("The expression of query %s returns %s, not a time series.", q.id, v.kindName())
		}
		unknown := searchUnknown
		touched := func(id string) {
			for _, r := range all[id] {
				unknown = unknown || r.unknown
			}
		}
		mathRefs(q.ast, touched, func(prefix string) {
			for _, id := range env.metricIDs {
				if strings.HasPrefix(id, prefix) {
					touched(id)
				}
			}
		})
		for _, m := range out {
			r := dataResult{id: q.id, label: q.label, times: m.times, values: m.values, unknown: unknown}
			defaultLabel := q.defaultLabel
			if v.kind == kindList {
				r.label, r.props, defaultLabel = memberLabel(q, m.label), m.props, m.label
			}
			if q.template.text != "" { // ${LABEL} of an array's member is the member's label
				r.label = q.template.fill(r.props, r.times, r.values, defaultLabel)
			}
			all[q.id] = append(all[q.id], r)
		}
		if len(out) == 0 {
			all[q.id] = []dataResult{}
		}
		if v.kind == kindList && defaultSearchLabels(q) {
			searchLabelled = append(searchLabelled, q)
		}
	}
	uniqueSearchLabels(searchLabelled, all)
	return all, nil
}

// MetricQuery is one query of EvaluateQueries, as an alarm's Metrics list
// or a GetMetricData request holds it: an Expression (metric math over the
// other queries' Ids), or a metric with its Stat and Period.
type MetricQuery struct {
	ID         string
	Expression string
	Namespace  string
	MetricName string
	Dimensions []record.Dimension
	Stat, Unit string
	Period     int64
}

// Series is one query's result: ascending period starts (Unix seconds) and
// their values. Unknown says some of the periods it drew on are unknown.
type Series struct {
	ID         string
	Period     int64
	Timestamps []int64
	Values     []float64
	Unknown    bool
}

// EvaluateQueries reads the metric queries over [from, to) (Unix seconds)
// and evaluates the expressions over them, exactly as GetMetricData does.
// It returns every query's series by Id (whatever its ReturnData; an
// expression that returns an array of several time series, such as
// METRICS(), is left out: an alarm needs one series) and the
// intervals no store could vouch for. Invalid queries or expressions give
// an *awsapi.Error (InvalidParameterValue) naming the problem.
func (s *Service) EvaluateQueries(_ context.Context, tenant string, queries []MetricQuery, from, to int64) (map[string]Series, []store.Interval, error) {
	if from >= to {
		return nil, nil, fmt.Errorf("evaluate queries: empty range [%d, %d)", from, to)
	}
	qs, err := toDataQueries(queries)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate queries: %w", err)
	}
	view, err := s.view(tenant, nil, floorDiv(from, 60)*60, ceilDiv(to, 60)*60)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate queries: %w", err)
	}
	var used answered
	all, err := s.evaluate(view, tenant, qs, time.Unix(from, 0), time.Unix(to, 0), &used)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate queries: %w", err)
	}
	plan, _ := planMath(qs) // already checked by evaluate
	out := make(map[string]Series, len(all))
	for id, rs := range all {
		if len(rs) != 1 {
			continue
		}
		r := rs[0]
		out[id] = Series{ID: id, Period: plan.period[id], Timestamps: r.times, Values: r.values, Unknown: r.unknown}
	}
	unknown := make([]store.Interval, 0, len(used.unknown))
	for _, iv := range used.unknown {
		unknown = append(unknown, store.Interval(iv))
	}
	return out, unknown, nil
}

// ValidateQueries checks queries as EvaluateQueries would (Ids, statistics,
// periods, expressions, references, cycles, shared periods) without
// reading anything, and returns every query's period by Id: for
// PutMetricAlarm's Metrics form. Errors are *awsapi.Error
// (InvalidParameterValue or a constraint error) naming the problem.
func ValidateQueries(queries []MetricQuery) (map[string]int64, error) {
	qs, err := toDataQueries(queries)
	if err != nil {
		return nil, err
	}
	plan, err := planMath(qs)
	if err != nil {
		return nil, err
	}
	return plan.period, nil
}

// toDataQueries checks and converts the queries; paths name them as an
// alarm's Metrics list does.
func toDataQueries(queries []MetricQuery) ([]dataQuery, error) {
	qs := make([]dataQuery, 0, len(queries))
	seen := map[string]bool{}
	for i, mq := range queries {
		q := dataQuery{id: mq.ID, returnData: true}
		path := fmt.Sprintf("Metrics.member.%d", i+1)
		switch {
		case len(mq.ID) > 255 || !idPattern.MatchString(mq.ID):
			return nil, awsapi.InvalidParameterValue("The value %s for parameter %s.Id is invalid: an Id starts with a lowercase letter and has only letters, numbers and underscores.", mq.ID, path)
		case seen[mq.ID]:
			return nil, awsapi.InvalidParameterValue("The value %s for parameter %s.Id is not unique: every query needs its own Id.", mq.ID, path)
		}
		seen[mq.ID] = true
		if mq.Expression != "" {
			if err := parseExpression(mq.Expression, path+".Expression", &q); err != nil {
				return nil, err
			}
			if len(searchesOf(q.ast)) > 0 {
				return nil, awsapi.InvalidParameterValue("The parameter %s.Expression is invalid: SEARCH expressions are not allowed in alarms.", path)
			}
			qs = append(qs, q)
			continue
		}
		st, ok := parseStat(mq.Stat)
		if !ok {
			return nil, invalidStat(mq.Stat, path+".MetricStat.Stat")
		}
		if err := checkPeriod(mq.Period, path+".MetricStat.Period"); err != nil {
			return nil, err
		}
		dims := slices.Clone(mq.Dimensions)
		record.SortDimensions(dims)
		q.metric = metricRef{namespace: mq.Namespace, name: mq.MetricName, dims: dims}
		q.stat, q.period, q.unit = st, mq.Period, mq.Unit
		qs = append(qs, q)
	}
	return qs, nil
}
