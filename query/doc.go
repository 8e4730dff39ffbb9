// Package query answers CloudWatch's read operations (GetMetricStatistics,
// GetMetricData, ListMetrics) from the stores, including metric math and
// SEARCH expressions (docs/search.md).
//
// It reads aggregates (count, sum, min, max and a percentile sketch per
// series and bucket) through the small [Store] interface it declares, merges
// the buckets that fall in each requested period, and computes the
// statistics: SampleCount, Sum, Average, Minimum, Maximum, and the
// extended statistics (pNN, trimmed and winsorized means, trimmed counts
// and sums, percentile ranks, IQM) from the sketch. ParseStatistic is the
// one parser of every API, the alarm API and SEARCH; docs/statistics.md
// has the syntax, the definitions and the error bound of each against the
// exact value. Every operation follows docs/cloudwatch-api.md §3:
// period rules, start-time rounding, the 1,440-datapoint limit, exact
// dimension-set match, label generation, ScanBy, MaxDatapoints and NextToken.
//
// # Metrics Insights
//
// A GetMetricData Expression that starts with SELECT is a Metrics Insights
// query (insights_parse.go, insights_eval.go; docs/metrics-insights.md):
// SELECT AVG|COUNT|MAX|MIN|SUM(metric) FROM namespace | SCHEMA(namespace,
// dims...) with WHERE (=, !=, AND, OR), GROUP BY, ORDER BY FUNC() and
// LIMIT, over the last three hours, one result per group.
//
// # PromQL
//
// [Service.Queryable] is the stores as a Prometheus storage.Queryable: one
// series per CloudWatch series and statistic (labels __name__, namespace,
// the dimensions, unit, stat), one sample per bucket at its start, the
// unknown intervals as warnings (promql.go). [PromAPI] serves Prometheus'
// HTTP query API over it with Prometheus' engine (promapi.go, promjson.go;
// docs/promql.md).
//
// # Coverage
//
// A read merges the stores bucket by bucket by what each can vouch for
// (docs/design.md §6; each store's rules are in package store). Coverage is
// judged per grain: the period below a minute, else the minute; a grain is
// covered by a store only when the store covers all of it (the last grain
// may reach past EndTime). For each grain:
//
//   - in the local window (from now minus -store.window, on a minute
//     boundary): the local store when it covers the grain, else the
//     long-term store when it does (a node restarted without its WAL reads
//     its recent past from the long-term store);
//   - before the window: the long-term store when it covers the grain, else
//     the local store when it does;
//   - otherwise the grain is unknown: the preferred store answers what it
//     has, and the grain is reported, never silently read as empty.
//
// A read of the window that the local store covers up to five seconds ago
// does not consult the long-term store's coverage at all (it could add
// only those last seconds; in a cluster that saves a call to every
// partition owner).
//
// A forced read (header X-Cellwatch-Read-Source: local or longterm) takes
// that store alone and reports what it does not cover. Every read sets
// X-Cellwatch-Sources (the stores that answered, older time first) and,
// when there are any, X-Cellwatch-Unknown: the unknown intervals as
// "<start>/<end>" in RFC 3339 UTC, comma separated (at most 100; past that
// the last spans the rest). GetMetricData also sets StatusCode PartialData
// on each result whose range has unknown grains, and adds one Messages entry
// {Code: PartialData, Value: text naming the intervals}. ListMetrics reports
// what is unknown over the last two weeks (three hours with
// RecentlyActive). A store that does not implement [Coverer] is taken to
// cover everything. [Service.Coverage] gives the same unknown intervals to
// other callers (alarms).
package query
