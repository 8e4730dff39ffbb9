package alerting

// Point is one period of an alarm's evaluation range.
type Point struct {
	Time        int64   // period start, Unix seconds
	Value       float64 // the statistic, when Present
	SampleCount float64
	Present     bool // a datapoint exists
	Unknown     bool // no store can vouch for the period: it may or may not hold data
	LowSample   bool // a percentile over too few samples (EvaluateLowSampleCountPercentile)
}

// Rule is what an alarm evaluates its range against.
type Rule struct {
	N, M            int // EvaluationPeriods, DatapointsToAlarm
	Operator        string
	Threshold       float64
	Treat           string // TreatMissingData, already defaulted (Alarm.Treatment)
	IgnoreLowSample bool   // EvaluateLowSampleCountPercentile = ignore
}

// RangeLen is the number of periods an alarm with N evaluation periods
// reads: R = N + max(floor(N/3), 2).
func RangeLen(n int) int { return n + max(n/3, 2) }

// Decision is the outcome of one evaluation.
type Decision struct {
	State     string // the new state (the current one when Kept)
	Kept      bool   // ignore (or a low-sample percentile) retained the current state
	Evaluated []int  // indexes of the real datapoints judged, oldest first
	Breaching int    // how many of the judged periods breach (fill-ins included)
	Filled    int    // missing periods filled with TreatMissingData
	Premature bool   // decided by the premature-alarm rule
	Unknown   []int  // the unknown periods, when they left the state undecided
}

// kind is what a period holds as the decision procedure sees it.
type kind uint8

const (
	kMissing kind = iota
	kOK
	kBreach
)

// maxEnumerated bounds the unknown periods whose every content is tried
// (3^u assignments); with more, only a sufficient condition is checked.
const maxEnumerated = 6

// Breaches reports whether v breaches the threshold under op.
func Breaches(op string, v, threshold float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold
	case "GreaterThanThreshold":
		return v > threshold
	case "LessThanThreshold":
		return v < threshold
	case "LessThanOrEqualToThreshold":
		return v <= threshold
	}
	return false
}

// Decide returns the state an alarm in state current moves to, given its
// evaluation range (oldest first). Known periods follow the decision
// procedure of docs/cloudwatch-api.md §4.3; unknown periods are never filled: the
// state stands only when every content they could have had gives it.
func Decide(points []Point, r Rule, current string) Decision {
	kinds := make([]kind, len(points))
	var unknown []int
	newestReal := -1
	for i, p := range points {
		switch {
		case p.Unknown:
			unknown = append(unknown, i)
		case !p.Present:
		case Breaches(r.Operator, p.Value, r.Threshold):
			kinds[i] = kBreach
			newestReal = i
		default:
			kinds[i] = kOK
			newestReal = i
		}
	}
	if r.IgnoreLowSample && newestReal >= 0 && points[newestReal].LowSample {
		return Decision{State: current, Kept: true}
	}
	if len(unknown) == 0 {
		return decideKnown(kinds, r, current)
	}
	if len(unknown) > maxEnumerated {
		// Sufficient: N real datapoints newer than every unknown period are
		// the N most recent real ones whatever the unknown periods held.
		if countReal(kinds[unknown[len(unknown)-1]+1:]) >= r.N {
			return decideKnown(kinds, r, current)
		}
		return Decision{State: StateInsufficientData, Unknown: unknown}
	}
	var best Decision
	found := false
	try := slices3(len(unknown))
	for _, assign := range try {
		for j, idx := range unknown {
			kinds[idx] = assign[j]
		}
		d := decideKnown(kinds, r, current)
		switch {
		case !found:
			best, found = d, true
		case d.State != best.State:
			return Decision{State: StateInsufficientData, Unknown: unknown}
		case d.Filled < best.Filled:
			best = d // explain with the fewest fill-ins
		}
	}
	for _, idx := range unknown {
		kinds[idx] = kMissing
	}
	// Evaluated may name unknown periods assigned real content; keep only real ones.
	best.Evaluated = keepReal(best.Evaluated, points)
	return best
}

func keepReal(idx []int, points []Point) []int {
	out := idx[:0:0]
	for _, i := range idx {
		if !points[i].Unknown {
			out = append(out, i)
		}
	}
	return out
}

// slices3 returns every assignment of n periods to missing, OK, breaching.
func slices3(n int) [][]kind {
	out := [][]kind{{}}
	for range n {
		next := make([][]kind, 0, len(out)*3)
		for _, a := range out {
			for _, k := range []kind{kMissing, kOK, kBreach} {
				next = append(next, append(append(make([]kind, 0, n), a...), k))
			}
		}
		out = next
	}
	return out
}

func countReal(kinds []kind) int {
	n := 0
	for _, k := range kinds {
		if k != kMissing {
			n++
		}
	}
	return n
}

// decideKnown is the decision procedure of docs/cloudwatch-api.md §4.3 over periods
// whose content is known.
func decideKnown(kinds []kind, r Rule, current string) Decision {
	var real []int
	for i, k := range kinds {
		if k != kMissing {
			real = append(real, i)
		}
	}
	breaching := func(idx []int) int {
		n := 0
		for _, i := range idx {
			if kinds[i] == kBreach {
				n++
			}
		}
		return n
	}
	judge := func(d Decision) Decision {
		d.State = StateOK
		if d.Breaching >= r.M {
			d.State = StateAlarm
		}
		return d
	}
	keep := Decision{State: current, Kept: true}
	// 1. Enough real datapoints: the N most recent of them.
	if len(real) >= r.N {
		ev := real[len(real)-r.N:]
		return judge(Decision{Evaluated: ev, Breaching: breaching(ev)})
	}
	b := breaching(real)
	switch r.Treat {
	case TreatBreaching:
		// 2. Every real datapoint, plus the fewest fill-ins to reach N.
		fill := r.N - len(real)
		return judge(Decision{Evaluated: real, Breaching: b + fill, Filled: fill})
	case TreatNotBreaching:
		return judge(Decision{Evaluated: real, Breaching: b, Filled: r.N - len(real)})
	}
	// 3. missing or ignore: judge the real datapoints alone.
	switch {
	case len(real) == 0:
		if r.Treat == TreatIgnore {
			return keep
		}
		return Decision{State: StateInsufficientData}
	case len(real) >= r.M || b == 0:
		return judge(Decision{Evaluated: real, Breaching: b})
	case premature(kinds, r.N, r.M):
		if r.Treat == TreatIgnore {
			keep.Evaluated, keep.Breaching, keep.Premature = real, b, true
			return keep
		}
		return Decision{State: StateAlarm, Evaluated: real, Breaching: b, Premature: true}
	case r.Treat == TreatIgnore:
		return keep
	}
	// The tables are silent here (e.g. "- - - - X" with M = 3); the 2018
	// table's answer: not enough data yet.
	return Decision{State: StateInsufficientData, Evaluated: real, Breaching: b}
}

// premature is the premature-alarm rule: within the last n periods, the
// oldest breaching datapoint is at least m periods old (the newest period
// is 1 old) and every period after it breaches or is missing.
func premature(kinds []kind, n, m int) bool {
	last := kinds[max(len(kinds)-n, 0):]
	for i, k := range last {
		if k != kBreach {
			continue
		}
		if len(last)-i < m {
			return false
		}
		for _, after := range last[i+1:] {
			if after == kOK {
				return false
			}
		}
		return true
	}
	return false
}
