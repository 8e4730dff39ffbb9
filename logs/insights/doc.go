// Package insights parses and runs CloudWatch Logs Insights (CWLI) queries
// over a stream of log events: Parse compiles a query, and the caller feeds
// a Run each scanned event.
//
// Work in progress. The parser covers fields, display, filter, parse,
// stats, sort, limit and dedup, the expression grammar in parse_expr.go and
// the scalar functions in funcs.go. The executor (exec.go) so far runs
// fields, parse and filter per event, then either stats (count, sum, avg,
// min, max, earliest, latest; groups in first-seen order) or keeps rows
// newest first, and cuts to the limit command (default DefaultLimit). It
// does not yet run sort, dedup, display, pct, stddev or count_distinct, or
// commands after stats. Results may be called between Adds from the same
// goroutine.
//
// Choices where AWS is vague: comparisons and boolean functions show as 1
// or 0; a period such as 5m floors from the unix epoch, mo/q/y from January
// 1970 UTC; regular expressions are RE2, so Hyperscan-only features
// (lookaround, backreferences) are refused with an error.
package insights
