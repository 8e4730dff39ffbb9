package alerting

import "time"

// isoTime formats t as AWS's alarm JSON does: 2024-01-03T17:29:50.000+0000.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }
