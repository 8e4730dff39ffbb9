package query

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

const (
	maxQueries       = 500
	maxDatapoints    = 100800
	scanDescending   = "TimestampDescending"
	scanAscending    = "TimestampAscending"
	statusComplete   = "Complete"
	statusPartial    = "PartialData"
	maxLabelLen      = 1024
	maxExpressionLen = 2048
)

var idPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// dataQuery is one MetricDataQuery with a MetricStat.
type dataQuery struct {
	id, label string
	template  labelTemplate // Label's dynamic tokens (labels.go)
	// defaultLabel is the label CloudWatch generates (${LABEL}).
	defaultLabel string
	metric       metricRef
	period       int64
	stat         statistic
	unit         string
	returnData   bool
	expression   string         // metric math (mathquery.go), else a MetricStat
	ast          mathNode       // the parsed expression
	insights     *insightsQuery // a Metrics Insights Expression (insights_eval.go)
	idLabel      bool           // an expression labelled by its Id (no Label given)
}

// dataResult is one MetricDataResult before paging.
type dataResult struct {
	id, label string
	props     labelProps // what a dynamic label may name
	times     []int64
	values    []float64
	unknown   bool // some of its periods are unknown: PartialData
}

// GetMetricData serves the operation of that name.
func (s *Service) GetMetricData(_ context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
	in := req.Input
	queries, err := parseDataQueries(in)
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(in)
	if err != nil {
		return nil, err
	}
	scanBy := scanDescending
	if in.Has("ScanBy") {
		scanBy = in.String("ScanBy")
		if scanBy != scanDescending && scanBy != scanAscending {
			return nil, awsapi.ConstraintError(scanBy, "scanBy", "satisfy enum value set: [TimestampDescending, TimestampAscending]")
		}
	}
	limit, ok, err := in.Int("MaxDatapoints")
	if err != nil {
		return nil, err
	}
	if !ok {
		limit = maxDatapoints
	}
	if limit < 1 {
		return nil, awsapi.InvalidParameterValue("The parameter MaxDatapoints must be greater than 0.")
	}
	fingerprint := requestFingerprint(in)
	offset := 0
	if in.Has("NextToken") {
		if offset, err = decodeToken(in.String("NextToken"), fingerprint); err != nil {
			return nil, err
		}
	}
	tz, err := parseLabelTimezone(in)
	if err != nil {
		return nil, err
	}
	for i := range queries {
		queries[i].template.ctx = labelContext{now: s.now(), tz: tz}
	}
	labelQueries(queries)
	tenant := awsapi.TenantOf(req)
	view, err := s.view(tenant, req, floorDiv(start.Unix(), 60)*60, ceilDiv(ceilSeconds(end), 60)*60)
	if err != nil {
		return nil, err
	}
	var used answered
	results, err := s.runQueries(view, tenant, queries, start, end, scanBy, &used)
	if err != nil {
		return nil, err
	}
	used.write(hdr)
	page, next := paginate(results, offset, int(limit))
	out := awsapi.Obj("MetricDataResults", page)
	if next > 0 {
		out = out.Add("NextToken", encodeToken(next, fingerprint))
	}
	messages := awsapi.List{}
	if len(used.unknown) > 0 {
		messages = append(messages, unknownMessage(used.unknown))
	}
	messages = append(messages, used.notes...)
	if len(used.limited) > 0 {
		messages = append(messages, limitedMessage(used.limited))
	}
	return out.Add("Messages", messages), nil
}

func parseDataQueries(in awsapi.Input) ([]dataQuery, error) {
	raw := in.Structs("MetricDataQueries")
	switch {
	case !in.Has("MetricDataQueries"):
		return nil, awsapi.MissingParameter("The parameter MetricDataQueries is required.")
	case len(raw) > maxQueries:
		return nil, awsapi.InvalidParameterValue("The collection MetricDataQueries must not have a size greater than %d.", maxQueries)
	}
	seen := map[string]bool{}
	queries := make([]dataQuery, 0, len(raw))
	for i, r := range raw {
		path := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		q, err := parseDataQuery(r, path)
		if err != nil {
			return nil, err
		}
		if seen[q.id] {
			return nil, awsapi.InvalidParameterValue("The value %s for parameter %s.Id is not unique: every query needs its own Id.", q.id, path)
		}
		seen[q.id] = true
		queries = append(queries, q)
	}
	if n := len(slices.DeleteFunc(slices.Clone(queries), func(q dataQuery) bool { return q.insights == nil })); n > 1 {
		return nil, awsapi.ValidationError("A GetMetricData request may hold one Metrics Insights query, not %d.", n) // AWS's exact text unverified
	}
	return queries, nil
}

func parseDataQuery(in awsapi.Input, path string) (dataQuery, error) {
	q := dataQuery{id: in.String("Id"), label: in.String("Label"), returnData: true}
	switch {
	case !in.Has("Id"):
		return q, awsapi.MissingParameter("The parameter %s.Id is required.", path)
	case len(q.id) > 255 || !idPattern.MatchString(q.id):
		return q, awsapi.InvalidParameterValue("The value %s for parameter %s.Id is invalid: an Id starts with a lowercase letter and has only letters, numbers and underscores.", q.id, path)
	case len(q.label) > maxLabelLen:
		return q, awsapi.ConstraintError(q.label, awsapi.CoralPath(path+".Label"), "have length less than or equal to 1024")
	}
	var err error
	if q.template, err = parseLabelTemplate(q.label, path+".Label"); err != nil {
		return q, err
	}
	if rd, ok, err := in.Bool("ReturnData"); err != nil {
		return q, err
	} else if ok {
		q.returnData = rd
	}
	ms, hasExpr := in.Struct("MetricStat"), in.Has("Expression")
	switch {
	case ms != nil && hasExpr:
		return q, awsapi.InvalidParameterValue("The parameters %s.MetricStat and %s.Expression are mutually exclusive and you have specified both.", path, path)
	case hasExpr && isInsights(in.String("Expression")):
		return q, parseInsightsQuery(in, in.String("Expression"), path, &q)
	case hasExpr:
		if err := parseExpressionPeriod(in, path, &q); err != nil {
			return q, err
		}
		return q, parseExpression(in.String("Expression"), path+".Expression", &q)
	case ms == nil:
		return q, awsapi.MissingParameter("The parameter %s.MetricStat or %s.Expression is required.", path, path)
	}
	return q, parseMetricStat(ms, path+".MetricStat", &q)
}

func parseMetricStat(ms awsapi.Input, path string, q *dataQuery) error {
	metric := ms.Struct("Metric")
	if metric == nil {
		return awsapi.MissingParameter("The parameter %s.Metric is required.", path)
	}
	var err error
	if q.metric, err = parseMetric(metric, path+".Metric."); err != nil {
		return err
	}
	period, ok, err := ms.Int("Period")
	if err != nil {
		return err
	}
	if !ok {
		return awsapi.MissingParameter("The parameter %s.Period is required.", path)
	}
	if err := checkPeriod(period, path+".Period"); err != nil {
		return err
	}
	q.period = period
	name := ms.String("Stat")
	if !ms.Has("Stat") {
		return awsapi.MissingParameter("The parameter %s.Stat is required.", path)
	}
	st, ok := parseStat(name)
	if !ok {
		return invalidStat(name, path+".Stat")
	}
	q.stat = st
	if ms.Has("Unit") {
		q.unit = ms.String("Unit")
		return awsapi.CheckUnit(q.unit, path+".Unit")
	}
	return nil
}

// labelQueries fills the labels CloudWatch generates: the metric name, plus
// the stat and the period when they differ between the request's queries.
// An expression's label defaults to its Id.
func labelQueries(queries []dataQuery) {
	statsDiffer, periodsDiffer := false, false
	var first *dataQuery
	for i := range queries {
		switch q := &queries[i]; {
		case q.ast != nil, q.insights != nil:
		case first == nil:
			first = q
		default:
			statsDiffer = statsDiffer || q.stat.name != first.stat.name
			periodsDiffer = periodsDiffer || q.period != first.period
		}
	}
	for i := range queries {
		q := &queries[i]
		if q.insights != nil {
			continue // an Insights query labels its results itself
		}
		if q.ast != nil {
			q.defaultLabel, q.idLabel = q.id, q.label == ""
		} else {
			parts := []string{q.metric.name}
			if statsDiffer {
				parts = append(parts, q.stat.name)
			}
			if periodsDiffer {
				parts = append(parts, fmt.Sprint(q.period))
			}
			q.defaultLabel = strings.Join(parts, " ")
		}
		if q.label == "" {
			q.label = q.defaultLabel
		}
	}
}

func (s *Service) runDataQuery(view *coverageView, tenant string, q dataQuery, start, end time.Time, scanBy string, used *answered) (res dataResult) {
	res = dataResult{id: q.id, label: q.label,
		props: labelProps{namespace: q.metric.namespace, metricName: q.metric.name, dims: q.metric.dims, period: q.period, stat: q.stat.name}}
	if q.template.text != "" { // filled over the datapoints found, on every return
		defer func() { res.label = q.template.fill(res.props, res.times, res.values, q.defaultLabel) }()
	}
	from, to := alignStart(start.Unix(), q.period), ceilSeconds(end)
	if !s.highResAvailable(from, q.period) {
		return res // sub-minute data is kept for three hours only
	}
	plan := view.plan(from, to, grainOf(q.period))
	used.addUnknown(plan.unknown)
	res.unknown = len(plan.unknown) > 0
	periods := map[int64]*store.Aggregate{}
	for _, byPeriod := range s.unitPeriods(plan.sources, tenant, q.metric, q.unit, from, q.period, used) {
		for p, a := range byPeriod {
			if acc := periods[p]; acc != nil {
				acc.Merge(a) // without a Unit filter, units merge as CloudWatch's GetMetricData does
			} else {
				periods[p] = a
			}
		}
	}
	starts := make([]int64, 0, len(periods))
	for p := range periods {
		starts = append(starts, p)
	}
	slices.Sort(starts)
	if scanBy == scanDescending {
		slices.Reverse(starts)
	}
	for _, p := range starts {
		if v, ok := q.stat.value(periods[p]); ok {
			res.times = append(res.times, p)
			res.values = append(res.values, v)
		}
	}
	return res
}

// paginate returns the page of results that starts at datapoint offset
// (counted over all results in order) and holds at most limit datapoints,
// and the offset of the next page (0 when this is the last). A result cut by
// the page's end says PartialData; its rest comes on the next page.
func paginate(results []dataResult, offset, limit int) (awsapi.List, int) {
	page := awsapi.List{}
	end, pos, more := offset+limit, 0, false
	for _, r := range results {
		n := len(r.times)
		lo, hi := max(pos, offset), min(pos+n, end)
		if (n == 0 && pos >= offset && pos < end) || (n > 0 && lo < hi) {
			page = append(page, resultObject(r, lo-pos, hi-pos))
		}
		if pos+n > end || (n == 0 && pos >= end) {
			more = true
		}
		pos += n
	}
	if more {
		return page, end
	}
	return page, 0
}

func resultObject(r dataResult, from, to int) awsapi.Object {
	status := statusComplete
	if to < len(r.times) || r.unknown {
		status = statusPartial // more on the next page, or periods no store can vouch for
	}
	times := make(awsapi.List, 0, max(0, to-from))
	values := make(awsapi.List, 0, max(0, to-from))
	for i := from; i < to; i++ {
		times = append(times, time.Unix(r.times[i], 0).UTC())
		values = append(values, r.values[i])
	}
	return awsapi.Obj("Id", r.id, "Label", r.label, "Timestamps", times, "Values", values, "StatusCode", status)
}
