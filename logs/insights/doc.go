// Package insights parses and runs CloudWatch Logs Insights (CWLI) queries
// over a stream of log events: Parse compiles a query, and the caller feeds
// a Run each scanned event, asking Results while it runs and at the end.
//
// # What runs
//
// Commands fields, display, filter, parse, stats, sort, limit (and limit
// any) and dedup, the expression grammar in parse_expr.go and the scalar
// functions in funcs.go. Stats functions count(*) and count() (every row),
// count(f) (rows where f is present), count_distinct, sum, avg, min, max,
// stddev, pct (alias percentile), earliest, latest, sortsFirst and
// sortsLast. Any command may follow a stats (filter, fields, parse, sort,
// dedup, limit, display), and a second stats may aggregate the rows of the
// first; a third is refused, as AWS allows "up to two".
//
// # How it runs (plan.go)
//
// The commands up to the first stats or limit run per event. That command
// accumulates: a stats command into groups, a limit (or the end of the
// query) into the rows that sort first in the order in force, kept in a
// top-k heap of the limit's size (the default order is @timestamp desc;
// events arrive per stream, so no order is assumed). A dedup before the
// limit is folded into the heap: it keeps the first row per key. Commands
// after the accumulator run over its table each time Results is called,
// on copies, so asking for results between Adds never changes a later
// answer. Without a limit command, results stop at Options.Limit, else
// DefaultLimit rows.
//
// # Bounds
//
// A run holds at most Options.MaxGroups stats groups (DefaultMaxGroups)
// and about Options.MaxBytes bytes (DefaultMaxBytes) of kept rows or
// groups with their pct and count_distinct states. When a bound would be
// passed the run stops: Add returns false, Run.Err returns an error
// matching ErrTooLarge, and Results answers from what was held then. A
// limit any stops the run (Add returns false) once it has its rows, with
// Err nil.
//
// # Choices where AWS is vague
//
//   - sort: a missing value sorts last in both directions; ties keep the
//     earlier order (an earlier sort, then @timestamp desc, then arrival).
//     Values compare as numbers when both are numeric (JSON numbers arrive
//     as text), else as text.
//   - dedup: keeps the first row per value combination in the current
//     order; a row with any dedup field missing is always kept. Only limit
//     may follow dedup (as AWS documents).
//   - pct(f, p) is the nearest-rank percentile: the value at rank
//     ceil(p/100 × n) of the ascending values (p 0 is the minimum, 100 the
//     maximum). It is exact up to pctExactMax (1024) values per group; past
//     that a log-bucketed sketch (DDSketch-style) answers within 1%
//     relative error, still exact at p 0 and 100.
//   - stddev is the sample standard deviation (n − 1 denominator; 0 for a
//     single value).
//   - count_distinct counts distinct texts exactly (by 64-bit hash) up to
//     distinctExactMax (2048) per group, then by HyperLogLog with 2^14
//     registers (16 KiB, about 0.8% standard error).
//   - sum, avg and stddev read numeric values only; with none the column
//     is left out of the row. min and max compare any values as sort does.
//   - stats groups come out in first-seen order. A bin() key also stands
//     for @timestamp in the stats rows, so a second stats may bin again
//     (stats count(*) as c by bin(1m) | stats max(c) by bin(1h)).
//   - After a stats, a command may read only the stats columns and the
//     names later fields and parse commands set ("Unknown symbols found in
//     or after stats: x" otherwise, as AWS says). An aggregate's text, as
//     in sort count(*) desc, reads the column of that name.
//   - Columns: the last display chooses them; otherwise a stats row shows
//     its by columns then its aggregates, and an event row the names of the
//     fields and parse commands when there is a fields command, else the
//     system fields and the names parse set. Event rows end with @ptr; a
//     column without a value is left out.
//   - Comparisons and boolean functions show as 1 or 0; a period such as
//     5m floors from the unix epoch, mo/q/y from January 1970 UTC; regular
//     expressions are RE2, so Hyperscan-only features (lookaround,
//     backreferences) are refused with an error. Parse globs are matched
//     without a regexp: each * takes the shortest text up to the next
//     literal, a final * the rest.
package insights
