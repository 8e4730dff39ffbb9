package insights

import (
	"encoding/base64"
	"strconv"
)

// Options configure a Run.
type Options struct {
	Account string // the account id @log shows before the group name
}

// Stats are a run's statistics as GetQueryResults reports them.
type Stats struct {
	RecordsMatched, RecordsScanned, BytesScanned float64
}

// Run is one execution of a Query. It is not safe for concurrent use.
type Run struct {
	q     *Query
	opts  Options
	rec   record
	stats Stats

	lastGroup, lastLog string

	held   []heldRow
	groups map[string]*group
	order  []*group
	keyBuf []byte
}

// NewRun starts an execution of q.
func (q *Query) NewRun(opts Options) *Run {
	r := &Run{q: q, opts: opts}
	r.rec.run = r
	return r
}

// logOf is @log for a group, cached for runs of events of one group.
func (r *Run) logOf(group string) string {
	if group != r.lastGroup || r.lastLog == "" {
		r.lastGroup, r.lastLog = group, r.opts.Account+":"+group
	}
	return r.lastLog
}

// ptr is @ptr: an opaque handle on the event.
func (r *Run) ptr(ev *Event) string {
	return base64.RawURLEncoding.EncodeToString([]byte(ev.Group + "\x00" + ev.Stream + "\x00" + strconv.FormatInt(ev.Timestamp, 10)))
}

// Stats returns the statistics so far.
func (r *Run) Stats() Stats { return r.stats }
