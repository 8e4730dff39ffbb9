package alerting

import (
	"slices"
	"time"
)

// The operations the alarm API (package alarmapi) serves. Requests are
// validated there; the checks that need the stored alarms are here, and
// fail with the errors of errors.go.

// Put creates the alarm a (its Tenant and Name set, a composite one's rule
// parsed) or overwrites the configuration of the one of that name: the
// state and tags stay. A composite alarm's rule is evaluated at once, on
// create as on update, as AWS does: a rule already true puts a new
// composite in ALARM (with its notification and history item) right away.
func (s *Store) Put(a Any) error {
	b := a.Common()
	now := s.cfg.Now().UTC()
	b.ConfigUpdated = now
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.alarms[b.Tenant][b.Name]
	if old != nil && old.Type() != a.Type() {
		return &ExistsError{Name: b.Name, Type: old.Type()}
	}
	c, composite := a.(*CompositeAlarm)
	if composite {
		if err := s.checkChildren(c); err != nil { // composite.go
			return err
		}
	}
	kind := "Create"
	if old != nil {
		kind = "Update"
		b.State = old.Common().State
		b.Tags = old.Common().Tags // tags are applied only on create
	} else {
		if len(s.alarms[b.Tenant]) >= s.cfg.MaxAlarms {
			return &LimitError{Max: s.cfg.MaxAlarms}
		}
		b.State = initialState(now)
	}
	hist := []HistoryItem{configItem(kind, old, a, now)}
	prev, next := old, a
	if composite {
		var h []HistoryItem
		next, h = transition(c, s.evalComposite(c, nil, now, s.stateOf))
		hist = append(hist, h...)
		if old == nil {
			prev = a // the created version, INSUFFICIENT_DATA: its transition notifies
		}
	}
	if err := s.commit([]Any{prev}, []Any{next}, nil, hist); err != nil {
		return err
	}
	s.onChildTransitions(hist)
	return nil
}

// SetState sets an alarm's state until its next evaluation (a composite
// alarm's: until a child changes or its configuration is updated).
func (s *Store) SetState(tenant, name string, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[tenant][name]
	if a == nil {
		return ErrNotFound
	}
	next, hist := transition(a, st)
	if err := s.commit([]Any{a}, []Any{next}, nil, hist); err != nil {
		return err
	}
	s.onChildTransitions(hist)
	return nil
}

// Delete deletes the named alarms; unknown names are ignored. Their history
// stays. At most one composite alarm goes per call, and no alarm another
// composite (not deleted in the same call) depends on.
func (s *Store) Delete(tenant string, names []string) error {
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkDelete(tenant, names); err != nil { // composite.go
		return err
	}
	var del []Any
	var hist []HistoryItem
	for _, n := range names {
		a := s.alarms[tenant][n]
		if a == nil || slices.Contains(del, a) {
			continue
		}
		del = append(del, a)
		hist = append(hist, configItem("Delete", nil, a, now))
	}
	if len(del) == 0 {
		return nil
	}
	return s.commit(nil, nil, del, hist)
}

// SetActionsEnabled turns the named alarms' actions on or off; their state
// still changes. Unknown names succeed silently, as on AWS.
func (s *Store) SetActionsEnabled(tenant string, names []string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var put []Any
	for _, n := range names {
		a := s.alarms[tenant][n]
		if a == nil || a.Common().ActionsEnabled == on || slices.ContainsFunc(put, func(p Any) bool { return p.Common().Name == n }) {
			continue
		}
		next := a.clone()
		next.Common().ActionsEnabled = on
		put = append(put, next)
	}
	if len(put) == 0 {
		return nil
	}
	return s.commit(make([]Any, len(put)), put, nil, nil)
}

// initialState is a new alarm's.
func initialState(now time.Time) State {
	return State{Value: StateInsufficientData, Reason: "Unchecked: Initial alarm creation", Updated: now, Transitioned: now}
}
