// Package logs serves the CloudWatch Logs API (AWS JSON 1.1,
// Logs_20140328): log groups and streams, PutLogEvents, GetLogEvents,
// FilterLogEvents, metric filters, retention, tags and Logs Insights.
//
// Events take the metrics' path (docs/design.md §3): a PutLogEvents call
// becomes one record.Logs, written to the WAL and fsynced before it is
// acknowledged, applied to the local store, shipped through the stream and
// applied exactly once to the long-term store. The datums a call's metric
// filters publish ride in the same record, so an alarm on them sees them
// with the events' freshness and durability. Reads merge the local and the
// long-term store by event identity and report the intervals neither can
// vouch for (the coverage rule, §6) instead of showing them as "no events".
//
// The package declares what it needs of the rest of the node (Writer,
// Reader); cmd/cellwatch wires the WAL and the stores behind them.
package logs
