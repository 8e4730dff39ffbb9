package alerting

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/cellwatch/cellwatch/alerting/notify"
)

// Composite alarms are re-evaluated whenever one of their children changes
// state (onChildTransitions), transitively.

// composite returns the tenant's composite alarm name (nil: none); s.mu
// must be held.
func (s *Store) composite(tenant, name string) *CompositeAlarm {
	c, _ := s.alarms[tenant][name].(*CompositeAlarm)
	return c
}

// checkChildren refuses rules naming alarms that do not exist or that would
// close a cycle through c. s.mu must be held.
func (s *Store) checkChildren(c *CompositeAlarm) error {
	var missing []string
	for _, n := range c.Children() {
		if n == c.Name {
			return &ReferenceError{Kind: SelfReference, Alarm: c.Name}
		}
		if s.alarms[c.Tenant][n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return &ReferenceError{Kind: MissingChildren, Alarms: missing}
	}
	// A cycle: c is reachable from its own children through composites.
	seen := map[string]bool{}
	var reaches func(name string) bool
	reaches = func(name string) bool {
		if name == c.Name {
			return true
		}
		p := s.composite(c.Tenant, name)
		if p == nil || seen[name] {
			return false
		}
		seen[name] = true
		return slices.ContainsFunc(p.Children(), reaches)
	}
	for _, n := range c.Children() {
		if reaches(n) {
			return &ReferenceError{Kind: Cycle, Alarm: c.Name, Through: n}
		}
	}
	return nil
}

// stateOf returns the state of the tenant's alarm of either type (false:
// there is none). s.mu must be held.
func (s *Store) stateOf(tenant, name string) (State, bool) {
	if a := s.alarms[tenant][name]; a != nil {
		return a.Common().State, true
	}
	return State{}, false
}

// evalComposite evaluates c's rule over the children's states (stateOf):
// ALARM when true, OK when false. The reason names the triggering
// children: those in changed, or every child when changed is empty.
func (s *Store) evalComposite(c *CompositeAlarm, changed []string, now time.Time, stateOf func(tenant, name string) (State, bool)) State {
	value := StateOK
	if c.parsed.eval(func(n string) string { st, _ := stateOf(c.Tenant, n); return st.Value }) {
		value = StateAlarm
	}
	trig := changed
	if len(trig) == 0 {
		trig = c.Children()
	}
	type stateJSON struct {
		Value     string `json:"value"`
		Timestamp string `json:"timestamp"`
	}
	type trigJSON struct {
		ARN   string    `json:"arn"`
		State stateJSON `json:"state"`
	}
	var list []trigJSON
	reason := "Alarm rule evaluated to " + map[bool]string{true: "TRUE", false: "FALSE"}[value == StateAlarm]
	for _, n := range trig {
		st, ok := stateOf(c.Tenant, n)
		if !ok {
			continue
		}
		if len(list) == 0 && len(changed) > 0 {
			reason = fmt.Sprintf("%s transitioned to %s at %s", ARNPrefix+n, st.Value, st.Transitioned.UTC().Format("Monday 02 January, 2006 15:04:05 MST"))
		}
		list = append(list, trigJSON{ARN: ARNPrefix + n, State: stateJSON{Value: st.Value, Timestamp: notify.ISOTime(st.Transitioned)}})
	}
	data, _ := json.Marshal(map[string]any{"triggeringAlarms": list})
	if list == nil {
		data = []byte(`{"triggeringAlarms":[]}`)
	}
	return State{Value: value, Reason: reason, ReasonData: string(data), Updated: now}
}

// onChildTransitions re-evaluates the composite alarms that depend, directly
// or through other composites, on the alarms whose state changed in hist
// (the StateUpdate items among them). s.mu must be held for writing.
func (s *Store) onChildTransitions(hist []HistoryItem) {
	changed := map[string][]string{}
	var now time.Time
	for _, h := range hist {
		if h.Type == HistoryStateUpdate && !slices.Contains(changed[h.Tenant], h.AlarmName) {
			changed[h.Tenant] = append(changed[h.Tenant], h.AlarmName)
			now = h.Timestamp
		}
	}
	for tenant, names := range changed {
		s.propagate(tenant, names, now)
	}
}

// propagate re-evaluates, until nothing changes, every composite alarm of the
// tenant this node owns with a child among dirty, and stores the ones whose
// state changes.
func (s *Store) propagate(tenant string, dirty []string, now time.Time) {
	s.reevaluate(tenant, func(string) []string { return dirty }, now)
}

// reevaluate re-evaluates each composite alarm n of the tenant this node
// owns that has a child among seed(n), then, until nothing changes, those
// with a child among the composites that moved, and stores the ones whose
// state changes.
func (s *Store) reevaluate(tenant string, seed func(composite string) []string, now time.Time) {
	var names []string
	var others []*CompositeAlarm // another node's composites are their owners' to move
	for n, a := range s.alarms[tenant] {
		if c, ok := a.(*CompositeAlarm); ok {
			if s.owns(tenant, n) {
				names = append(names, n)
			} else {
				others = append(others, c)
			}
		}
	}
	sort.Strings(names)
	moved := map[string]Any{} // the composites' new versions in this propagation
	stateOf := func(tenant, name string) (State, bool) {
		if a := moved[name]; a != nil {
			return a.Common().State, true
		}
		return s.stateOf(tenant, name)
	}
	var hist []HistoryItem
	for pass := 0; pass <= len(names); pass++ {
		progress := false
		for _, n := range names {
			c := s.composite(tenant, n)
			if m := moved[n]; m != nil {
				c = m.(*CompositeAlarm)
			}
			var trig []string
			dirty := seed(n)
			for _, ch := range c.Children() {
				if slices.Contains(dirty, ch) || moved[ch] != nil {
					trig = append(trig, ch)
				}
			}
			if len(trig) == 0 {
				continue
			}
			next, h := transition(c, s.evalComposite(c, trig, now, stateOf))
			if len(h) == 0 {
				continue
			}
			moved[n] = next
			hist = append(hist, h...)
			progress = true
		}
		if !progress {
			break
		}
	}
	s.noteMissed(others, seed, moved)
	if len(moved) == 0 {
		return
	}
	var prev, put []Any
	for n, c := range moved {
		prev, put = append(prev, s.alarms[tenant][n]), append(put, c)
	}
	if err := s.commit(prev, put, nil, hist); err != nil {
		s.logger.Error("write composite alarm states", "tenant", tenant, "alarms", len(put), "err", err)
	}
}

// noteMissed marks the composite alarms of others (not owned here) that
// have a child among seed or moved: if one becomes this node's, its
// evaluator re-evaluates it (Store.recheck), since its owner may not have.
// s.mu is held for writing.
func (s *Store) noteMissed(others []*CompositeAlarm, seed func(string) []string, moved map[string]Any) {
	for _, c := range others {
		dirty := seed(c.Name)
		if slices.ContainsFunc(c.Children(), func(ch string) bool { return slices.Contains(dirty, ch) || moved[ch] != nil }) {
			s.missed[c.Tenant+"\x00"+c.Name] = true
		}
	}
}

// checkDelete is DeleteAlarms' composite checks: at most one composite
// alarm per call, and no alarm another composite (not deleted in the same
// call) depends on. s.mu must be held.
func (s *Store) checkDelete(tenant string, names []string) error {
	var del []string
	for _, n := range names {
		if s.composite(tenant, n) != nil && !slices.Contains(del, n) {
			del = append(del, n)
		}
	}
	if len(del) > 1 {
		return &ReferenceError{Kind: TooManyComposites, N: len(del)}
	}
	var blocked, parents []string
	for _, a := range s.alarms[tenant] {
		p, ok := a.(*CompositeAlarm)
		if !ok || slices.Contains(names, p.Name) {
			continue
		}
		for _, ch := range p.Children() {
			if slices.Contains(names, ch) {
				if !slices.Contains(blocked, ch) {
					blocked = append(blocked, ch)
				}
				if !slices.Contains(parents, p.Name) {
					parents = append(parents, p.Name)
				}
			}
		}
	}
	if len(blocked) > 0 {
		sort.Strings(blocked)
		sort.Strings(parents)
		return &ReferenceError{Kind: Referenced, Alarms: blocked, Parents: parents}
	}
	return nil
}
