// Package pattern implements CloudWatch Logs filter patterns, the language
// FilterLogEvents, metric filters and subscription filters share, and the
// metric transformation a metric filter applies to the events it matches.
//
// Parse compiles a pattern; (*Pattern).Match tests one event message and
// returns the values the pattern's selectors took (Fields). Transformation
// is PutMetricFilter's metricTransformations member: Validate checks it
// against a pattern, Apply turns one event into the datum it publishes.
//
// # Grammar
//
// The first non-blank character picks the family. An empty or all-blank
// pattern matches every event.
//
// Unstructured (anything not starting with '{' or '['):
//
//	pattern  = { item }                 blank-separated
//	item     = [ "?" | "-" ] ( word | phrase | regex )
//	word     = letters, digits, "_"     (Unicode letters and digits too)
//	phrase   = '"' any text, \" and \\ escaped '"'
//	regex    = "%" expression "%"
//
// A plain item must occur, a "?" item is one of a set of which at least one
// must occur, a "-" item must not occur. All tests are case-sensitive
// substring tests on the whole message (ERROR matches "ERRORS" too; AWS
// documents terms as case-sensitive and does not promise word boundaries).
// A pattern of exclusions alone matches every event that has none of them
// ("-ERROR"). An unquoted item with any other character is rejected with
// "Invalid character(s) in term '<item>'", AWS's wording.
//
// A regex item is searched anywhere in the message (%AUTHORIZED% matches
// "UNAUTHORIZED REQUEST", as in AWS's example). AWS limits the expression
// to ASCII letters and digits, the symbols : _ # = @ / ; , - and the
// operators ^ $ ? [ ] { } | \ * + . (no parentheses); this package also
// allows the blank. Expressions run on Go's RE2 engine, in linear time. A
// space-delimited or JSON pattern may hold at most two regexes, AWS's quota;
// the per-log-group quota of five regex filters is the caller's to check.
//
// Space-delimited ('[' ... ']'):
//
//	pattern = "[" field { "," field } "]"
//	field   = "..." | name [ cond { ( "&&" | "||" ) cond } ]
//	cond    = [ name ] op value           (the same name as the field)
//	op      = "=" | "!=" | "<" | "<=" | ">" | ">="
//	value   = number | bare text with "*" wildcards | quoted string | regex
//
// The message is split on runs of spaces and tabs; a field that opens with
// '"' runs to the next '"' and one that opens with '[' to the next ']', and
// those delimiters are not part of the value (so the Apache sample's
// timestamp extracts as 10/Oct/2000:13:25:15 -0700). An unterminated quote
// or bracket is an ordinary field. Without "..." the message must have
// exactly as many fields as the pattern; "..." stands for any number of
// fields, including none. && binds tighter than ||. A number operand
// compares numerically when the field reads as a number; "=" and "!=" with
// anything else compare text, with "*" matching any run of characters;
// ordering operators on a field that is not a number are false.
//
// JSON ('{' ... '}'):
//
//	pattern = "{" or "}"
//	or      = and { "||" and }
//	and     = primary { "&&" primary }
//	primary = "(" or ")" | sel op value | sel "IS" ( "NULL" | "TRUE" | "FALSE" )
//	        | sel "NOT" "EXISTS" | sel "EXISTS"
//	sel     = "$" { "." key | "[" index "]" | ".['" key "']" }
//
// JSON values are written as in space-delimited patterns. Keywords are
// accepted in any case. A message matches only if it is one
// JSON object (surrounding blanks allowed, nothing after it); anything
// else never matches a JSON pattern. Choices where AWS is vague:
//
//   - Any comparison on a selector that is absent is false, "!=" included;
//     NOT EXISTS is how to ask for absence. IS NULL needs the key present
//     with a null value.
//   - A number operand ({ $.ms > 100 }) compares numerically with JSON
//     numbers. For "=" and "!=" it also compares with a JSON string by
//     text, so { $.code = 200 } matches "code": "200"; ordering operators
//     against a string are false.
//   - A text operand (quoted, or bare with "*") matches a JSON string by
//     its content and a JSON number or boolean by its literal text. So
//     { $.status = 5* } matches "status": 503 and "status": "503" alike:
//     the wildcard makes 5* text, as status_code = 4* is in AWS's
//     space-delimited examples. Objects, arrays and null equal no operand.
//   - For a present value "!=" is exactly the negation of "=".
//
// # Selectors and extracted values
//
// Fields.Get takes "$name" or "$N" (the Nth non-ellipsis field, from 1) for
// space-delimited patterns and "$.a.b[0].c" for JSON patterns. JSON strings
// come back unquoted, other JSON values as compact JSON text.
// Fields.ExtractedValues is TestMetricFilter's extractedValues: one entry
// per selector the pattern names, keyed as written ("$status_code",
// "$.eventType"), for those that found a value.
//
// # Metric transformations
//
// Validate applies the API's member constraints (metricName and
// metricNamespace 1 to 255 characters without ':', '*' or '$'; metricValue
// 1 to 100 characters; unit one of the standard units) with the service's
// "1 validation error detected: ..." wording, and the filter rules: the
// metric value is a number or a selector the pattern defines, each
// dimension value is such a selector, at most three dimensions, and
// dimensions and defaultValue cannot both be given.
//
// Apply gives the datum for one event. A matching event publishes the
// metric value (the selector's value must read as a number, else nothing is
// published) with its dimensions (a dimension selector with no value means
// nothing is published). A non-matching event publishes defaultValue, when
// set, with no dimensions. AWS's API reference describes defaultValue as
// "the value to emit when a filter pattern does not match a log event" and
// its console guide as the value reported for a period in which no event
// matched; per-event emission serves both, because the metric store sums a
// period's data: the caller publishes Apply's datum for every event, and a
// period where nothing matched then holds the default (0 in the usual
// configuration) instead of no data. Callers that aggregate per period may
// instead publish the default once for a period with no match.
//
// # Cost
//
// Parse is linear in the pattern. Matching terms is a few strings.Contains
// calls and does not allocate. Wildcards are matched piece by piece with
// strings.Index and "..." runs are placed leftmost, so no input backtracks
// more than (pattern size × message size). JSON messages are decoded only
// for JSON patterns.
package pattern
