package store

// LogEvent is one stored log event. (Origin, Offset, Index) is its identity:
// the WAL that took it, the WAL record's offset and the event's index in
// that record (record.Logs). It is the same in the local and the long-term
// store, so a read that merges both drops the copy it saw twice.
type LogEvent struct {
	Timestamp int64 // Unix ms, as the client gave it
	Ingestion int64 // Unix ms at which the node accepted it
	Message   string
	Origin    string
	Offset    uint64
	Index     uint32
}

// LogScan selects the events of one log stream: Timestamp in
// [FromMs, ToMs), ascending by (Timestamp, Ingestion, identity), or the
// reverse when Descending.
type LogScan struct {
	Tenant, Group, Stream string
	FromMs, ToMs          int64
	Descending            bool
}

// CompareLogEvents orders events as every log read returns them: by
// timestamp, then ingestion time, then identity.
func CompareLogEvents(a, b *LogEvent) int {
	switch {
	case a.Timestamp != b.Timestamp:
		return cmpInt64(a.Timestamp, b.Timestamp)
	case a.Ingestion != b.Ingestion:
		return cmpInt64(a.Ingestion, b.Ingestion)
	case a.Origin != b.Origin:
		if a.Origin < b.Origin {
			return -1
		}
		return 1
	case a.Offset != b.Offset:
		if a.Offset < b.Offset {
			return -1
		}
		return 1
	}
	return cmpInt64(int64(a.Index), int64(b.Index))
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
