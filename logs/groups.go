package logs

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// CreateLogGroup creates a log group (logGroupName, logGroupClass, tags).
func (a *API) CreateLogGroup(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	name, err := requiredName(in, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "aws/") {
		return nil, awsapi.LogsInvalidParameter("Log group names starting with 'aws/' are reserved.")
	}
	class := "STANDARD"
	if in.Has("logGroupClass") {
		class = in.String("logGroupClass")
		if !slices.Contains(groupClasses, class) {
			return nil, awsapi.ConstraintError(class, "logGroupClass", enumText(groupClasses))
		}
	}
	tags, err := parseTagMap(in, "tags", false)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	m := a.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.group(tenant, name) != nil {
		return nil, errGroupExists
	}
	if m.tenantGroups(tenant) >= a.cfg.MaxGroups {
		return nil, errLimit
	}
	g := &logGroup{Tenant: tenant, Name: name, Created: a.cfg.Now().UnixMilli(), Class: class, Tags: tags}
	return awsapi.Object{}, m.putGroup(g)
}

// DeleteLogGroup deletes a log group, its streams' events and its metric
// filters.
func (a *API) DeleteLogGroup(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	m := a.meta
	m.mu.Lock()
	g := m.group(tenant, name)
	if g == nil {
		m.mu.Unlock()
		return nil, errGroupNotFound
	}
	streams := streamNames(g)
	err = m.deleteGroup(g)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return awsapi.Object{}, a.forgetAll(ctx, tenant, name, streams)
}

// DescribeLogGroups lists the tenant's log groups in ASCII order of names.
func (a *API) DescribeLogGroups(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	prefix, pattern := in.String("logGroupNamePrefix"), in.String("logGroupNamePattern")
	if in.Has("logGroupNamePrefix") && in.Has("logGroupNamePattern") {
		return nil, awsapi.LogsInvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if in.Has("logGroupNamePrefix") {
		if err := checkLen(prefix, "logGroupNamePrefix", 1, maxNameLen); err != nil {
			return nil, err
		}
		if err := checkRE(prefix, "logGroupNamePrefix", groupNameRE); err != nil {
			return nil, err
		}
	}
	if err := checkLen(pattern, "logGroupNamePattern", 0, maxNameLen); err != nil {
		return nil, err
	}
	if err := checkRE(pattern, "logGroupNamePattern", groupNameRE0); err != nil {
		return nil, err
	}
	class := in.String("logGroupClass")
	if in.Has("logGroupClass") && !slices.Contains(groupClasses, class) {
		return nil, awsapi.ConstraintError(class, "logGroupClass", enumText(groupClasses))
	}
	limit, err := limitOf(in, "limit", 1, 50, 50)
	if err != nil {
		return nil, err
	}
	after, err := afterToken("g", in.String("nextToken"))
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	m := a.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	list := awsapi.List{}
	var last string
	more := false
	for _, g := range m.sortedGroups(tenant) {
		if g.Name <= after && after != "" || !strings.HasPrefix(g.Name, prefix) ||
			pattern != "" && !containsFold(g.Name, pattern) || class != "" && g.Class != class {
			continue
		}
		if len(list) == limit {
			more = true
			break
		}
		list = append(list, a.describeGroup(g))
		last = g.Name
	}
	out := awsapi.Obj("logGroups", list)
	if more {
		out = out.Add("nextToken", nameToken("g", last))
	}
	return out, nil
}

// describeGroup is a LogGroup entry. The caller holds meta.mu.
func (a *API) describeGroup(g *logGroup) awsapi.Object {
	var stored int64
	for name := range g.streams {
		stored += a.r.StoredLogBytes(g.Tenant, g.Name, name)
	}
	o := awsapi.Obj("logGroupName", g.Name, "creationTime", g.Created)
	if g.Retention > 0 {
		o = o.Add("retentionInDays", g.Retention)
	}
	return o.Add("metricFilterCount", len(g.filters)).Add("arn", groupARN(g.Tenant, g.Name)).
		Add("storedBytes", stored).Add("logGroupClass", g.Class).Add("logGroupArn", arnPrefix(g.Tenant)+g.Name)
}

// PutRetentionPolicy sets a log group's retention in days.
func (a *API) PutRetentionPolicy(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	name, err := requiredName(in, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	days, ok, err := in.Int("retentionInDays")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, awsapi.NullError("retentionInDays")
	}
	if !slices.Contains(retentionDays, int(days)) {
		return nil, awsapi.ConstraintError(strconv.FormatInt(days, 10), "retentionInDays", enumText(retentionDays))
	}
	return a.updateGroup(awsapi.TenantOf(req), name, func(g *logGroup) error {
		g.Retention = int(days)
		return nil
	})
}

// DeleteRetentionPolicy makes a log group keep its events forever.
func (a *API) DeleteRetentionPolicy(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	return a.updateGroup(awsapi.TenantOf(req), name, func(g *logGroup) error {
		g.Retention = 0
		return nil
	})
}

// updateGroup applies fn to a copy of the tenant's log group and stores it.
func (a *API) updateGroup(tenant, name string, fn func(*logGroup) error) (awsapi.Object, error) {
	m := a.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.group(tenant, name)
	if g == nil {
		return nil, errGroupNotFound
	}
	next := *g
	next.Tags = make(map[string]string, len(g.Tags))
	for k, v := range g.Tags {
		next.Tags[k] = v
	}
	if err := fn(&next); err != nil {
		return nil, err
	}
	if err := m.putGroup(&next); err != nil {
		return nil, err
	}
	return awsapi.Object{}, nil
}
