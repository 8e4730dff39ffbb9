package logs

import (
	"context"
	"net/http"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/logs/pattern"
)

// PutMetricFilter creates or replaces a metric filter of a log group: its
// pattern and its one metric transformation, checked by logs/pattern.
func (a *API) PutMetricFilter(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	group, err := requiredName(in, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	name, err := filterNameOf(in, "filterName", true)
	if err != nil {
		return nil, err
	}
	if !in.Has("filterPattern") {
		return nil, awsapi.NullError("filterPattern")
	}
	src := in.String("filterPattern")
	p, err := compilePattern(src)
	if err != nil {
		return nil, err
	}
	if !in.Has("metricTransformations") {
		return nil, awsapi.NullError("metricTransformations")
	}
	list := in.Structs("metricTransformations")
	if len(list) != 1 {
		return nil, awsapi.ConstraintError("list of "+itoa(len(list))+" transformations", "metricTransformations", "have length between 1 and 1")
	}
	t, err := transformationOf(list[0], p)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	return awsapi.Object{}, a.meta.withGroup(tenant, group, func(g *logGroup) error {
		if g.filters[name] == nil && len(g.filters) >= a.cfg.MaxMetricFilters {
			return errLimit
		}
		f := &metricFilter{Tenant: tenant, Group: group, Name: name, Pattern: src, Created: a.cfg.Now().UnixMilli(),
			Transformations: []transformation{t}}
		return a.meta.putFilter(g, f)
	})
}

func transformationOf(in awsapi.Input, p *pattern.Pattern) (transformation, error) {
	t := transformation{MetricName: in.String("metricName"), Namespace: in.String("metricNamespace"),
		Value: in.String("metricValue"), Unit: in.String("unit")}
	if v, ok, err := in.Float("defaultValue"); err != nil {
		return t, err
	} else if ok {
		t.Default = &v
	}
	if dims := in.Struct("dimensions"); len(dims) > 0 {
		t.Dimensions = make(map[string]string, len(dims))
		for k := range dims {
			t.Dimensions[k] = awsapi.Input(dims).String(k)
		}
	}
	if err := t.pattern().Validate(p); err != nil {
		if pe, ok := err.(*pattern.Error); ok { //nolint:errorlint // the pattern package returns it unwrapped
			return t, awsapi.LogsInvalidParameter("%s", pe.Msg)
		}
		return t, err
	}
	return t, nil
}

func filterNameOf(in awsapi.Input, member string, required bool) (string, error) {
	if !in.Has(member) {
		if required {
			return "", awsapi.NullError(member)
		}
		return "", nil
	}
	v := in.String(member)
	if err := checkLen(v, member, 1, maxFilterNameLen); err != nil {
		return "", err
	}
	return v, checkRE(v, member, filterNameRE)
}

// DescribeMetricFilters lists metric filters: of one log group (with a
// name prefix) or, by metricName and metricNamespace, of every group.
func (a *API) DescribeMetricFilters(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	group := ""
	if in.Has("logGroupName") {
		var err error
		if group, err = requiredName(in, "logGroupName", false); err != nil {
			return nil, err
		}
	}
	prefix, err := filterNameOf(in, "filterNamePrefix", false)
	if err != nil {
		return nil, err
	}
	if prefix != "" && group == "" {
		return nil, awsapi.LogsInvalidParameter("If you specify filterNamePrefix, you must also specify logGroupName.")
	}
	metric, ns := in.String("metricName"), in.String("metricNamespace")
	if (metric == "") != (ns == "") {
		return nil, awsapi.LogsInvalidParameter("If you specify metricName or metricNamespace, you must specify both.")
	}
	limit, err := limitOf(in, "limit", 1, 50, 50)
	if err != nil {
		return nil, err
	}
	after, err := afterToken("f", in.String("nextToken"))
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	m := a.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	if group != "" && m.group(tenant, group) == nil {
		return nil, errGroupNotFound
	}
	list := awsapi.List{}
	var last string
	more := false
	for _, g := range m.sortedGroups(tenant) {
		if group != "" && g.Name != group {
			continue
		}
		for _, f := range sortedFilters(g) {
			key := g.Name + "\x00" + f.Name
			if key <= after && after != "" || !strings.HasPrefix(f.Name, prefix) ||
				metric != "" && (f.Transformations[0].MetricName != metric || f.Transformations[0].Namespace != ns) {
				continue
			}
			if len(list) == limit {
				more = true
				break
			}
			list = append(list, describeFilter(f))
			last = key
		}
	}
	out := awsapi.Obj("metricFilters", list)
	if more {
		out = out.Add("nextToken", nameToken("f", last))
	}
	return out, nil
}

func describeFilter(f *metricFilter) awsapi.Object {
	ts := awsapi.List{}
	for _, t := range f.Transformations {
		o := awsapi.Obj("metricName", t.MetricName, "metricNamespace", t.Namespace, "metricValue", t.Value)
		if t.Default != nil {
			o = o.Add("defaultValue", *t.Default)
		}
		if len(t.Dimensions) > 0 {
			o = o.Add("dimensions", tagMap(t.Dimensions))
		}
		if t.Unit != "" {
			o = o.Add("unit", t.Unit)
		}
		ts = append(ts, o)
	}
	return awsapi.Obj("filterName", f.Name, "filterPattern", f.Pattern, "metricTransformations", ts,
		"creationTime", f.Created, "logGroupName", f.Group)
}

// DeleteMetricFilter deletes a metric filter.
func (a *API) DeleteMetricFilter(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	group, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	name, err := filterNameOf(req.Input, "filterName", true)
	if err != nil {
		return nil, err
	}
	return awsapi.Object{}, a.meta.withGroup(awsapi.TenantOf(req), group, func(g *logGroup) error {
		if g.filters[name] == nil {
			return errFilterNotFound
		}
		return a.meta.deleteChild(g, 'f', name)
	})
}

// TestMetricFilter matches 1-50 messages against a pattern.
func (a *API) TestMetricFilter(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	if !in.Has("filterPattern") {
		return nil, awsapi.NullError("filterPattern")
	}
	p, err := compilePattern(in.String("filterPattern"))
	if err != nil {
		return nil, err
	}
	if !in.Has("logEventMessages") {
		return nil, awsapi.NullError("logEventMessages")
	}
	msgs := in.Strings("logEventMessages")
	if len(msgs) < 1 || len(msgs) > 50 {
		return nil, awsapi.ConstraintError("list of "+itoa(len(msgs))+" messages", "logEventMessages", "have length between 1 and 50")
	}
	matches := awsapi.List{}
	for i, msg := range msgs {
		fields, ok := p.Match(msg)
		if !ok {
			continue
		}
		matches = append(matches, awsapi.Obj("eventNumber", int64(i+1), "eventMessage", msg,
			"extractedValues", tagMap(fields.ExtractedValues())))
	}
	return awsapi.Obj("matches", matches), nil
}

func sortedFilters(g *logGroup) []*metricFilter {
	out := make([]*metricFilter, 0, len(g.filters))
	for _, f := range g.filters {
		out = append(out, f)
	}
	slicesSortByName(out)
	return out
}
