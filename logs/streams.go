package logs

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// CreateLogStream creates a log stream in a log group.
func (a *API) CreateLogStream(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	group, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	name, err := requiredName(req.Input, "logStreamName", true)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	return awsapi.Object{}, a.meta.withGroup(tenant, group, func(g *logGroup) error {
		if g.streams[name] != nil {
			return errStreamExists
		}
		if len(g.streams) >= a.cfg.MaxStreams {
			return errLimit
		}
		s := &logStream{Tenant: tenant, Group: group, Name: name, Created: a.cfg.Now().UnixMilli()}
		return a.meta.putStream(g, s, true)
	})
}

// DeleteLogStream deletes a log stream and its events.
func (a *API) DeleteLogStream(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	group, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	name, err := requiredName(req.Input, "logStreamName", true)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	m := a.meta
	m.mu.Lock()
	g := m.group(tenant, group)
	switch {
	case g == nil:
		err = errGroupNotFound
	case g.streams[name] == nil:
		err = errStreamNotFound
	default:
		err = m.deleteChild(g, 's', name)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return awsapi.Object{}, a.forgetAll(ctx, tenant, group, []string{name})
}

var streamOrders = []string{"LogStreamName", "LastEventTime"}

// DescribeLogStreams lists a log group's streams by name or by last event
// time, ascending or descending.
func (a *API) DescribeLogStreams(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	group, err := groupOf(awsapi.TenantOf(req), in)
	if err != nil {
		return nil, err
	}
	prefix := in.String("logStreamNamePrefix")
	if in.Has("logStreamNamePrefix") {
		if err := checkLen(prefix, "logStreamNamePrefix", 1, maxNameLen); err != nil {
			return nil, err
		}
		if err := checkRE(prefix, "logStreamNamePrefix", streamNameRE); err != nil {
			return nil, err
		}
	}
	order := "LogStreamName"
	if in.Has("orderBy") {
		order = in.String("orderBy")
		if !slices.Contains(streamOrders, order) {
			return nil, awsapi.ConstraintError(order, "orderBy", enumText(streamOrders))
		}
	}
	if order == "LastEventTime" && prefix != "" {
		return nil, awsapi.LogsInvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	desc, _, err := in.Bool("descending")
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in, "limit", 1, 50, 50)
	if err != nil {
		return nil, err
	}
	after, err := afterToken("s", in.String("nextToken"))
	if err != nil {
		return nil, err
	}
	keyOf := func(s *logStream) string { return s.Name }
	if order == "LastEventTime" {
		keyOf = func(s *logStream) string { return fmt.Sprintf("%020d/%s", max(s.Last, 0), s.Name) }
	}
	tenant := awsapi.TenantOf(req)
	m := a.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.group(tenant, group)
	if g == nil {
		return nil, errGroupNotFound
	}
	type entry struct {
		key string
		s   *logStream
	}
	entries := make([]entry, 0, len(g.streams))
	for _, s := range g.streams {
		if strings.HasPrefix(s.Name, prefix) {
			entries = append(entries, entry{keyOf(s), s})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return (entries[i].key < entries[j].key) != desc })
	list := awsapi.List{}
	var last string
	more := false
	for _, e := range entries {
		if after != "" && (!desc && e.key <= after || desc && e.key >= after) {
			continue
		}
		if len(list) == limit {
			more = true
			break
		}
		list = append(list, a.describeStream(e.s))
		last = e.key
	}
	out := awsapi.Obj("logStreams", list)
	if more {
		out = out.Add("nextToken", nameToken("s", last))
	}
	return out, nil
}

func streamARN(tenant, group, stream string) string {
	return arnPrefix(tenant) + group + ":log-stream:" + stream
}

// describeStream is a LogStream entry. The caller holds meta.mu.
func (a *API) describeStream(s *logStream) awsapi.Object {
	o := awsapi.Obj("logStreamName", s.Name, "creationTime", s.Created)
	if s.Ingestion != 0 {
		o = o.Add("firstEventTimestamp", s.First).Add("lastEventTimestamp", s.Last).Add("lastIngestionTime", s.Ingestion)
	}
	return o.Add("uploadSequenceToken", sequenceToken(s.Sequence)).Add("arn", streamARN(s.Tenant, s.Group, s.Name)).
		Add("storedBytes", a.r.StoredLogBytes(s.Tenant, s.Group, s.Name))
}

// sequenceToken renders a stream's PutLogEvents count as the 56-digit
// sequence token AWS's clients expect (accepted and ignored on input).
func sequenceToken(n uint64) string { return fmt.Sprintf("4%055d", n) }
