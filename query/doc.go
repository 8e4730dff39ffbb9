// Package query answers CloudWatch's read operations (GetMetricStatistics,
// GetMetricData, ListMetrics) from the stores.
//
// It reads aggregates (count, sum, min, max and a percentile sketch per
// series and bucket) through the small [Store] interface it declares, merges
// the buckets that fall in each requested period, and computes the
// statistics: SampleCount, Sum, Average, Minimum, Maximum, and percentiles
// p0.0-p100 from the sketch (relative error bound documented in package
// store). Every operation follows shared/reference/cloudwatch-api.md §3:
// period rules, start-time rounding, the 1,440-datapoint limit, exact
// dimension-set match, label generation, ScanBy, MaxDatapoints and NextToken.
package query
