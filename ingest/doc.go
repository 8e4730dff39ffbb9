// Package ingest is cellwatch's HTTP front door for the CloudWatch API.
//
// [Server] answers every protocol the AWS SDKs send on one port (see package
// internal/awsapi) and dispatches by operation name to a [Handler]. Ingest
// owns PutMetricData: it validates the request exactly as CloudWatch does,
// turns it into one WAL record (internal/record), appends the record to the
// node's write-ahead log (group-committed, fsync before the acknowledgement by
// default) and applies it to the local store, so that a read right after the
// write sees it. Nothing on this path touches the stream.
//
// [LimitsConfig] bounds what requests may cost: decode bounds, the body's
// read time, in-flight request and byte caps (503 ServiceUnavailable, never
// queued) and per-tenant token buckets for requests, datums and new series
// ([TenantLimits]; Throttling, "Rate exceeded"). Each refusal is counted in
// cellwatch_api_limited_total.
//
// [NewRemoteWrite] is Prometheus remote write (1.0 and 2.0) on the same
// path: a request becomes one such record, durable before the 204, applied
// to the local store; its series map to a fixed namespace, __name__ to the
// metric name and the other labels to dimensions (docs/remote-write.md).
//
// Read operations (GetMetricData, GetMetricStatistics, ListMetrics, ...) live
// in package query; cmd registers them here with [Server.Register].
package ingest
