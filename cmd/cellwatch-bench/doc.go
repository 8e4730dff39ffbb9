// Command cellwatch-bench is cellwatch's load generator and reporter.
//
// It builds the cellwatch binary once into a cache directory, runs it as a
// separate process (defaults: fsync before acknowledgement, shipper,
// embedded stream, consumer, long-term store and alarms all running) on
// free loopback ports with a temporary data directory, and replays
// pre-encoded requests at it from concurrent connections. For each
// scenario it reports throughput, latency percentiles, the server's CPU
// time and RSS (from /proc), bytes on disk per datum, and ratios against the
// machine's floors (disk write+fsync, request decoding) and against peers
// run the same way: moto_server for PutMetricData in JSON 1.0, Prometheus
// and VictoriaMetrics for remote write. Peers that cannot be found or built
// are reported as skipped.
//
//	go run ./cmd/cellwatch-bench -scenario all
//	go run ./cmd/cellwatch-bench -scenario put-json,put-cbor -datums 1000 -duration 20s
//
// docs/benchmarks.md describes the scenarios and the table.
package main
