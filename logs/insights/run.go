package insights

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// Default bounds of a run (see Options).
const (
	DefaultMaxGroups       = 100_000
	DefaultMaxBytes  int64 = 64 << 20
)

// ErrTooLarge is what Run.Err matches (errors.Is) when a run stopped
// because it would hold more stats groups or bytes than its bounds.
var ErrTooLarge = errors.New("query results exceed the memory bound")

// Options configure a Run.
type Options struct {
	Account string // the account id @log shows before the group name

	// Limit is how many rows a query without a limit command returns
	// (StartQuery's limit); 0 means DefaultLimit.
	Limit int
	// MaxGroups bounds the groups a stats command holds; 0 means
	// DefaultMaxGroups.
	MaxGroups int
	// MaxBytes bounds the bytes a run holds (rows kept for the results,
	// or stats groups with their percentile and distinct-count states);
	// 0 means DefaultMaxBytes.
	MaxBytes int64
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
	lim   limits
	err   error
	done  bool // limit any has its rows

	lastGroup, lastLog string

	ord    []sortVal // the current event's order values
	dkey   []byte    // the current event's dedup key
	caps   []string  // parse captures, scratch
	top    topK
	groups groupSet
}

// NewRun starts an execution of q.
func (q *Query) NewRun(opts Options) *Run {
	r := &Run{q: q, opts: opts}
	r.rec.run = r
	r.lim = limits{maxGroups: opts.MaxGroups, maxBytes: opts.MaxBytes}
	if r.lim.maxGroups <= 0 {
		r.lim.maxGroups = DefaultMaxGroups
	}
	if r.lim.maxBytes <= 0 {
		r.lim.maxBytes = DefaultMaxBytes
	}
	pl := &q.plan
	r.groups.lim = &r.lim
	r.ord = make([]sortVal, len(pl.descs))
	r.top = topK{k: r.defaultLimit(), descs: pl.descs, lim: &r.lim}
	if pl.limit != nil {
		r.top.k = pl.limit.n
	}
	if pl.dedup != nil {
		r.top.byKey = map[string]int{}
	}
	return r
}

// defaultLimit is the row count without a limit command.
func (r *Run) defaultLimit() int {
	if r.opts.Limit > 0 {
		return min(r.opts.Limit, MaxLimit)
	}
	return DefaultLimit
}

// Err is why the run stopped taking events early: an error matching
// ErrTooLarge when it hit a bound (Results then answers from what it held
// when it stopped), nil otherwise.
func (r *Run) Err() error { return r.err }

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
