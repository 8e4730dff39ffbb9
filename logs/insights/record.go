package insights

// Event is one log event as the caller's scan yields it.
type Event struct {
	Timestamp     int64 // unix milliseconds
	IngestionTime int64 // unix milliseconds
	Message       string
	Stream        string // the log stream name
	Group         string // the log group name
}

// Field is one column of one result row.
type Field struct {
	Name, Value string
}

// sysField names a system field.
type sysField uint8

const (
	sysNone sysField = iota
	sysTimestamp
	sysMessage
	sysLogStream
	sysLog
	sysIngestionTime
	sysPtr
)

// systemFields are the fields every event has, in the order a row without
// a projection lists them.
var systemFields = []string{"@timestamp", "@message", "@logStream", "@log", "@ingestionTime"}

func sysFieldOf(name string) sysField {
	switch name {
	case "@timestamp":
		return sysTimestamp
	case "@message":
		return sysMessage
	case "@logStream":
		return sysLogStream
	case "@log":
		return sysLog
	case "@ingestionTime":
		return sysIngestionTime
	case "@ptr":
		return sysPtr
	}
	return sysNone
}

// record is what expressions read: one event with the fields earlier
// commands set, or one row of a table (ev nil).
type record struct {
	ev   *Event
	run  *Run
	set  map[string]value // fields set by fields/parse, or a table row's columns
	keys []string         // set's names in the order they were first set

	json     map[string]value // fields discovered in the message, decoded on first use
	jsonKeys []string
	jsonDone bool

	ts    value   // a table row's @timestamp (a stats row's bin() key)
	aggs  []value // the current stats group's aggregates
	stack []value // function arguments being evaluated
}

// reset points the record at a new event, keeping its maps' storage.
func (r *record) reset(ev *Event) {
	r.ev = ev
	if len(r.set) > 0 {
		clear(r.set)
		r.keys = r.keys[:0]
	}
	if r.jsonDone {
		clear(r.json)
		r.jsonKeys = r.jsonKeys[:0]
		r.jsonDone = false
	}
}

// assign sets a field.
func (r *record) assign(name string, v value) {
	if r.set == nil {
		r.set = make(map[string]value, 4)
	}
	if _, ok := r.set[name]; !ok {
		r.keys = append(r.keys, name)
	}
	r.set[name] = v
}

// get reads a field: one set by a command, else a system field, else a
// field discovered in the message.
func (r *record) get(name string, sys sysField) value {
	if len(r.set) > 0 {
		if v, ok := r.set[name]; ok {
			return v
		}
	}
	if r.ev == nil {
		if sys == sysTimestamp {
			return r.ts
		}
		return null
	}
	if sys != sysNone {
		return r.system(sys)
	}
	r.decode()
	return r.json[name]
}

// system reads a system field of the event.
func (r *record) system(sys sysField) value {
	ev := r.ev
	switch sys {
	case sysTimestamp:
		return tm(float64(ev.Timestamp))
	case sysMessage:
		return str(ev.Message)
	case sysLogStream:
		return str(ev.Stream)
	case sysLog:
		return str(r.run.logOf(ev.Group))
	case sysIngestionTime:
		return tm(float64(ev.IngestionTime))
	case sysPtr:
		return str(r.run.ptr(ev))
	}
	return null
}

// decode discovers the message's fields once per event.
func (r *record) decode() {
	if r.jsonDone {
		return
	}
	r.jsonDone = true
	if r.json == nil {
		r.json = make(map[string]value)
	}
	discover(r.ev.Message, func(name string, v value) {
		if _, ok := r.json[name]; !ok {
			r.jsonKeys = append(r.jsonKeys, name)
		}
		r.json[name] = v
	})
}
