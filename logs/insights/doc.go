// Package insights parses and runs CloudWatch Logs Insights (CWLI) queries
// over a stream of log events: Parse compiles a query, and the caller feeds
// a Run each scanned event.
//
// Work in progress: the parser (commands fields, display, filter, parse,
// stats, sort, limit, dedup; the expression grammar in parse_expr.go; the
// scalar functions in funcs.go) is written; the executor is not finished.
//
// Choices where AWS is vague: comparisons and boolean functions show as 1
// or 0; a period such as 5m floors from the unix epoch, mo/q/y from January
// 1970 UTC; regular expressions are RE2, so Hyperscan-only features
// (lookaround, backreferences) are refused with an error.
package insights
