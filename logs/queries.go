package logs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/logs/insights"
	"github.com/cellwatch/cellwatch/store"
)

// Logs Insights query statuses, as the API names them.
const (
	statusRunning   = "Running"
	statusComplete  = "Complete"
	statusFailed    = "Failed"
	statusCancelled = "Cancelled"
)

const (
	maxQueryGroups  = 50   // logGroupNames / logGroupIdentifiers
	maxKeptQueries  = 1000 // finished queries kept per tenant for GetQueryResults and DescribeQueries
	maxDescribeRows = 1000
)

// queryRun is one Logs Insights query: its run is fed by one goroutine
// and read by GetQueryResults; mu serialises the two.
type queryRun struct {
	id, tenant, text string
	groups           []string
	created          int64 // Unix ms
	cancel           context.CancelFunc

	mu       sync.Mutex
	run      *insights.Run
	status   string
	finished int64 // Unix ms; 0 while running
	unknown  intervals.Set
}

// queries are the Logs Insights queries of every tenant.
type queries struct {
	mu   sync.Mutex
	byID map[string]*queryRun
	wg   sync.WaitGroup
	ctx  context.Context // cancelled when the API stops
	stop context.CancelFunc
}

func newQueries() *queries {
	ctx, stop := context.WithCancel(context.Background())
	return &queries{byID: map[string]*queryRun{}, ctx: ctx, stop: stop}
}

// close cancels every running query and waits for their goroutines.
func (qs *queries) close() {
	qs.stop()
	qs.wg.Wait()
}

// sweepLocked drops finished queries older than maxAge, and a tenant's
// oldest finished ones past maxKeptQueries.
func (qs *queries) sweepLocked(now int64, maxAge time.Duration, tenant string) {
	var mine []*queryRun
	for id, q := range qs.byID {
		q.mu.Lock()
		done := q.finished
		q.mu.Unlock()
		if done > 0 && now-done > maxAge.Milliseconds() {
			delete(qs.byID, id)
			continue
		}
		if q.tenant == tenant {
			mine = append(mine, q)
		}
	}
	if len(mine) > maxKeptQueries {
		slices.SortFunc(mine, func(a, b *queryRun) int { return int(a.created - b.created) })
		for _, q := range mine[:len(mine)-maxKeptQueries] {
			delete(qs.byID, q.id)
		}
	}
}

func (qs *queries) runningLocked(tenant string) int {
	n := 0
	for _, q := range qs.byID {
		q.mu.Lock()
		if q.tenant == tenant && q.status == statusRunning {
			n++
		}
		q.mu.Unlock()
	}
	return n
}

// StartQuery starts a Logs Insights query over one or more log groups and
// [startTime, endTime] (epoch seconds, both inclusive).
func (a *API) StartQuery(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in, tenant := req.Input, awsapi.TenantOf(req)
	groups, err := queryGroups(awsapi.TenantOf(req), in)
	if err != nil {
		return nil, err
	}
	start, okS, err := in.Int("startTime")
	if err != nil {
		return nil, awsapi.LogsInvalidParameter("startTime must be a number of seconds since the epoch.")
	}
	end, okE, err := in.Int("endTime")
	if err != nil {
		return nil, awsapi.LogsInvalidParameter("endTime must be a number of seconds since the epoch.")
	}
	if !okS || !okE {
		return nil, awsapi.LogsInvalidParameter("startTime and endTime are required.")
	}
	if end < start {
		return nil, awsapi.LogsInvalidParameter("End time should not be before the start time.")
	}
	text := in.String("queryString")
	if !in.Has("queryString") {
		return nil, awsapi.LogsInvalidParameter("queryString is required.")
	}
	if err := checkLen(text, "queryString", 0, insights.MaxQueryLength); err != nil {
		return nil, err
	}
	limit, err := limitOf(in, "limit", 1, insights.MaxLimit, insights.DefaultLimit)
	if err != nil {
		return nil, err
	}
	q, err := insights.Parse(text)
	if err != nil {
		var pe *insights.Error
		if errors.As(err, &pe) {
			e := awsapi.LogsMalformedQuery("%s", pe.Message)
			e.Members = awsapi.Obj("queryCompileError", awsapi.Obj("location", awsapi.Obj("start", pe.Start, "end", pe.End), "message", pe.Message))
			return nil, e
		}
		return nil, awsapi.LogsMalformedQuery("%v", err)
	}
	a.meta.mu.Lock()
	for _, g := range groups {
		if a.meta.group(tenant, g) == nil {
			a.meta.mu.Unlock()
			return nil, awsapi.LogsResourceNotFound("Log group '%s' does not exist.", awsapi.Prefix(g))
		}
	}
	a.meta.mu.Unlock()
	now := a.cfg.Now().UnixMilli()
	qs := a.queries
	qs.mu.Lock()
	qs.sweepLocked(now, a.cfg.QueryResultsMaxAge, tenant)
	if qs.runningLocked(tenant) >= a.cfg.MaxRunningQueries {
		qs.mu.Unlock()
		return nil, awsapi.LogsLimitExceeded("Account maximum query concurrency limit of [%d] reached.", a.cfg.MaxRunningQueries)
	}
	ctx, cancel := context.WithCancel(qs.ctx)
	run := &queryRun{id: newQueryID(), tenant: tenant, text: text, groups: groups, created: now, cancel: cancel,
		run: q.NewRun(insights.Options{Account: awsapi.AccountOf(awsapi.TenantOf(req)), Limit: limit}), status: statusRunning}
	qs.byID[run.id] = run
	qs.wg.Add(1)
	qs.mu.Unlock()
	go func() {
		defer qs.wg.Done()
		defer cancel()
		a.execute(ctx, run, start*1000, (end+1)*1000)
	}()
	return awsapi.Obj("queryId", run.id), nil
}

// execute scans every stream of the query's groups over [fromMs, toMs).
func (a *API) execute(ctx context.Context, q *queryRun, fromMs, toMs int64) {
	status := statusComplete
	var ev insights.Event
scan:
	for _, group := range q.groups {
		a.meta.mu.Lock()
		var streams []string
		if g := a.meta.group(q.tenant, group); g != nil {
			streams = streamNames(g)
		}
		a.meta.mu.Unlock()
		for _, stream := range streams {
			more := true
			unknown, err := a.r.ScanLogs(ctx, store.LogScan{Tenant: q.tenant, Group: group, Stream: stream, FromMs: fromMs, ToMs: toMs},
				func(e *store.LogEvent) bool {
					ev = insights.Event{Timestamp: e.Timestamp, IngestionTime: e.Ingestion, Message: e.Message, Stream: stream, Group: group}
					q.mu.Lock()
					more = q.run.Add(&ev)
					q.mu.Unlock()
					return more && ctx.Err() == nil
				})
			q.mu.Lock()
			q.unknown = intervals.Union(q.unknown, intervals.Of(unknown...))
			q.mu.Unlock()
			switch {
			case ctx.Err() != nil:
				status = statusCancelled
				break scan
			case err != nil:
				a.logger.Error("logs insights query failed", "query_id", q.id, "err", err)
				status = statusFailed
				break scan
			case !more:
				q.mu.Lock()
				tooLarge := q.run.Err()
				q.mu.Unlock()
				if tooLarge != nil {
					// The run's memory bound: what it holds is an answer over
					// part of the range only, so say the query failed.
					a.logger.Warn("logs insights query stopped at its bound", "query_id", q.id, "err", tooLarge)
					status = statusFailed
				}
				break scan
			}
		}
	}
	q.mu.Lock()
	if q.status == statusRunning {
		q.status = status
	}
	q.finished = a.cfg.Now().UnixMilli()
	q.mu.Unlock()
}

// GetQueryResults returns a query's results so far, its statistics and
// status; the intervals no store could vouch for are in the
// X-Cellwatch-Unknown header.
func (a *API) GetQueryResults(_ context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
	q, err := a.lookupQuery(req)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	rows, st, status, unknown := q.run.Results(), q.run.Stats(), q.status, q.unknown
	q.mu.Unlock()
	results := make(awsapi.List, 0, len(rows))
	for _, row := range rows {
		fields := make(awsapi.List, 0, len(row))
		for _, f := range row {
			fields = append(fields, awsapi.Obj("field", f.Name, "value", f.Value))
		}
		results = append(results, fields)
	}
	setUnknown(hdr, unknown)
	return awsapi.Obj("results", results, "status", status, "queryLanguage", "CWLI",
		"statistics", awsapi.Obj("recordsMatched", st.RecordsMatched, "recordsScanned", st.RecordsScanned, "bytesScanned", st.BytesScanned,
			"logGroupsScanned", float64(len(q.groups)))), nil
}

// StopQuery cancels a running query.
func (a *API) StopQuery(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	q, err := a.lookupQuery(req)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.status != statusRunning {
		return nil, awsapi.LogsInvalidParameter("Query %s is not running; it is %s.", q.id, q.status)
	}
	q.status = statusCancelled
	q.cancel()
	return awsapi.Obj("success", true), nil
}

// DescribeQueries lists the tenant's recent queries, newest first.
func (a *API) DescribeQueries(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in, tenant := req.Input, awsapi.TenantOf(req)
	limit, err := limitOf(in, "maxResults", 1, maxDescribeRows, maxDescribeRows)
	if err != nil {
		return nil, err
	}
	group, status := in.String("logGroupName"), in.String("status")
	after := ""
	if in.Has("nextToken") {
		if after, err = afterToken("query", in.String("nextToken")); err != nil {
			return nil, err
		}
	}
	qs := a.queries
	qs.mu.Lock()
	qs.sweepLocked(a.cfg.Now().UnixMilli(), a.cfg.QueryResultsMaxAge, tenant)
	var mine []*queryRun
	for _, q := range qs.byID {
		if q.tenant == tenant && (group == "" || slices.Contains(q.groups, group)) {
			mine = append(mine, q)
		}
	}
	qs.mu.Unlock()
	slices.SortFunc(mine, func(a, b *queryRun) int {
		if a.created != b.created {
			return int(b.created - a.created)
		}
		return strings.Compare(a.id, b.id)
	})
	out := awsapi.List{}
	var next string
	for _, q := range mine {
		if after != "" && q.id <= after {
			continue
		}
		q.mu.Lock()
		st := q.status
		q.mu.Unlock()
		if status != "" && st != status {
			continue
		}
		if len(out) == limit {
			next = nameToken("query", q.id)
			break
		}
		out = append(out, awsapi.Obj("queryId", q.id, "queryString", q.text, "status", st, "createTime", q.created,
			"logGroupName", q.groups[0], "queryLanguage", "CWLI"))
	}
	res := awsapi.Obj("queries", out)
	if next != "" {
		res = res.Add("nextToken", next)
	}
	return res, nil
}

func (a *API) lookupQuery(req *awsapi.Request) (*queryRun, error) {
	id := req.Input.String("queryId")
	if err := checkLen(id, "queryId", 1, 256); err != nil {
		return nil, err
	}
	a.queries.mu.Lock()
	q := a.queries.byID[id]
	a.queries.mu.Unlock()
	if q == nil || q.tenant != awsapi.TenantOf(req) {
		return nil, awsapi.LogsResourceNotFound("Query does not exist.")
	}
	return q, nil
}

// queryGroups reads exactly one of logGroupName, logGroupNames and
// logGroupIdentifiers (names or ARNs).
func queryGroups(tenant string, in awsapi.Input) ([]string, error) {
	set := 0
	for _, m := range []string{"logGroupName", "logGroupNames", "logGroupIdentifiers"} {
		if in.Has(m) {
			set++
		}
	}
	if set != 1 {
		return nil, awsapi.LogsInvalidParameter("Exactly one of logGroupName, logGroupNames and logGroupIdentifiers must be specified.")
	}
	if in.Has("logGroupName") {
		g, err := requiredName(in, "logGroupName", false)
		return []string{g}, err
	}
	names := in.Strings("logGroupNames")
	member := "logGroupNames"
	if in.Has("logGroupIdentifiers") {
		names, member = in.Strings("logGroupIdentifiers"), "logGroupIdentifiers"
	}
	if len(names) < 1 || len(names) > maxQueryGroups {
		return nil, awsapi.ConstraintError("list of "+itoa(len(names))+" names", member, "have length between 1 and 50")
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if g, ok := groupOfARN(tenant, n); ok {
			n = g
		} else if err := checkLogName(n, member, false); err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func newQueryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// GetLogGroupFields lists the fields of a group's events around time
// (epoch seconds: ±8 minutes) or in the last 15 minutes, with the percent of
// events that have each, most common first.
func (a *API) GetLogGroupFields(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in, tenant := req.Input, awsapi.TenantOf(req)
	group, err := groupOf(awsapi.TenantOf(req), in)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	from, to := now.Add(-15*time.Minute).UnixMilli(), now.UnixMilli()+1
	if in.Has("time") {
		t, _, err := in.Int("time")
		if err != nil {
			return nil, awsapi.LogsInvalidParameter("time must be a number of seconds since the epoch.")
		}
		from, to = (t-8*60)*1000, (t+8*60)*1000
	}
	a.meta.mu.Lock()
	g := a.meta.group(tenant, group)
	var streams []string
	if g != nil {
		streams = streamNames(g)
	}
	a.meta.mu.Unlock()
	if g == nil {
		return nil, errGroupNotFound
	}
	const maxSampled = 10_000
	counts := map[string]int{}
	events := 0
	for _, s := range streams {
		if events >= maxSampled {
			break
		}
		if _, err := a.r.ScanLogs(ctx, store.LogScan{Tenant: tenant, Group: group, Stream: s, FromMs: from, ToMs: to, Descending: true},
			func(e *store.LogEvent) bool {
				for _, f := range insights.DiscoverFields(e.Message) {
					counts[f]++
				}
				events++
				return events < maxSampled
			}); err != nil {
			return nil, awsapi.LogsServiceUnavailable("read log events: %v", err)
		}
	}
	names := make([]string, 0, len(counts))
	for f := range counts {
		names = append(names, f)
	}
	slices.SortFunc(names, func(x, y string) int {
		if counts[x] != counts[y] {
			return counts[y] - counts[x]
		}
		return strings.Compare(x, y)
	})
	out := make(awsapi.List, 0, len(names))
	for _, f := range names {
		out = append(out, awsapi.Obj("name", f, "percent", int64(counts[f]*100/events)))
	}
	return awsapi.Obj("logGroupFields", out), nil
}
