// Package pattern implements CloudWatch Logs filter patterns, the language
// FilterLogEvents, metric filters and subscription filters share, and the
// metric transformation a metric filter applies to the events it matches.
//
// See the package's README-style notes below for the grammar and for the
// places where AWS's documentation leaves the behaviour open.
package pattern
