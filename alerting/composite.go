package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// CompositeAlarm is a composite alarm: its configuration and its state.
// Stored under c\x00<tenant>\x00<name>.
type CompositeAlarm struct {
	Tenant                           string    `json:"tenant"`
	Name                             string    `json:"name"`
	Description                      *string   `json:"description,omitempty"`
	Rule                             string    `json:"rule"`
	ActionsEnabled                   bool      `json:"actionsEnabled"`
	OKActions                        []string  `json:"okActions,omitempty"`
	AlarmActions                     []string  `json:"alarmActions,omitempty"`
	InsufficientDataActions          []string  `json:"insufficientDataActions,omitempty"`
	ActionsSuppressor                string    `json:"actionsSuppressor,omitempty"`
	ActionsSuppressorWaitPeriod      *int64    `json:"actionsSuppressorWaitPeriod,omitempty"`
	ActionsSuppressorExtensionPeriod *int64    `json:"actionsSuppressorExtensionPeriod,omitempty"`
	Tags                             []Tag     `json:"tags,omitempty"`
	ConfigUpdated                    time.Time `json:"configUpdated"`
	State                            State     `json:"state"`

	rule *ruleNode // parsed Rule
}

// ARN returns the alarm's ARN.
func (c *CompositeAlarm) ARN() string { return arnPrefix + c.Name }

func (c *CompositeAlarm) actions() []string {
	return slices.Concat(c.OKActions, c.AlarmActions, c.InsufficientDataActions)
}

func compositeKey(tenant, name string) []byte {
	return []byte("c\x00" + tenant + "\x00" + name)
}

// loadComposites reads every stored composite alarm into s.composites.
func (s *Service) loadComposites() error {
	s.composites = map[string]map[string]*CompositeAlarm{}
	it, err := s.db.p.NewIter(&pebble.IterOptions{LowerBound: []byte("c\x00"), UpperBound: []byte("c\x01")})
	if err != nil {
		return fmt.Errorf("read composite alarms: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		c := &CompositeAlarm{}
		if err := json.Unmarshal(it.Value(), c); err != nil {
			return fmt.Errorf("decode composite alarm %q: %w", it.Key(), err)
		}
		if c.rule, err = parseRule(c.Rule); err != nil {
			return fmt.Errorf("parse alarm rule of %q: %w", c.Name, err)
		}
		s.compositesOf(c.Tenant)[c.Name] = c
	}
	return it.Error()
}

// compositesOf returns the tenant's composite alarms, creating the map.
func (s *Service) compositesOf(tenant string) map[string]*CompositeAlarm {
	if s.composites == nil {
		s.composites = map[string]map[string]*CompositeAlarm{}
	}
	m := s.composites[tenant]
	if m == nil {
		m = map[string]*CompositeAlarm{}
		s.composites[tenant] = m
	}
	return m
}

// writeComposites stores and deletes composite alarms and appends history
// items in one synced batch.
func (s *Service) writeComposites(put, del []*CompositeAlarm, history []HistoryItem) error {
	b := s.db.p.NewBatch()
	defer b.Close()
	for _, c := range put {
		v, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode composite alarm: %w", err)
		}
		if err := b.Set(compositeKey(c.Tenant, c.Name), v, nil); err != nil {
			return fmt.Errorf("write composite alarm: %w", err)
		}
	}
	for _, c := range del {
		if err := b.Delete(compositeKey(c.Tenant, c.Name), nil); err != nil {
			return fmt.Errorf("delete composite alarm: %w", err)
		}
	}
	for _, h := range history {
		v, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("encode history item: %w", err)
		}
		if err := b.Set(historyKey(h.Timestamp.UnixMilli(), s.db.seq.Add(1)), v, nil); err != nil {
			return fmt.Errorf("write history item: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit composite alarm batch: %w", err)
	}
	return nil
}

// PutCompositeAlarm creates a composite alarm or overwrites one's
// configuration; an update re-evaluates the rule at once.
func (s *Service) PutCompositeAlarm(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	c, err := parseComposite(req.Input)
	if err != nil {
		return nil, err
	}
	c.Tenant = awsapi.TenantOf(req)
	now := s.cfg.Now().UTC()
	c.ConfigUpdated = now
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alarms[c.Tenant][c.Name] != nil {
		return nil, awsapi.InvalidParameterValue("An alarm named %s already exists and is a metric alarm.", c.Name)
	}
	if err := s.checkChildren(c); err != nil {
		return nil, err
	}
	old := s.composites[c.Tenant][c.Name]
	kind, summary := "Create", fmt.Sprintf("Alarm %q created", c.Name)
	var hist []HistoryItem
	if old != nil {
		kind, summary = "Update", fmt.Sprintf("Alarm %q updated", c.Name)
		c.Tags = old.Tags // tags are applied only on create
		c.State = old.State
	} else {
		if len(s.alarms[c.Tenant])+len(s.composites[c.Tenant]) >= s.cfg.MaxAlarms {
			return nil, awsapi.LimitExceeded("The maximum number of alarms (%d) has been reached.", s.cfg.MaxAlarms)
		}
		c.State = State{Value: StateInsufficientData, Reason: "Unchecked: Initial alarm creation", Updated: now, Transitioned: now}
	}
	data := `{"version":"1.0","type":"` + kind + `",`
	if old == nil {
		data += `"createdAlarm":` + compositeJSON(c) + `}`
	} else {
		data += `"originalUpdatedAlarm":` + compositeJSON(old) + `,"updatedAlarm":` + compositeJSON(c) + `}`
	}
	hist = append(hist, HistoryItem{Tenant: c.Tenant, AlarmName: c.Name, AlarmType: alarmTypeComposit, Timestamp: now,
		Type: HistoryConfigurationUpdate, Summary: summary, Data: data})
	next := c
	if old != nil {
		var h []HistoryItem
		next, h = s.setCompositeState(c, s.evalComposite(c, nil, now))
		hist = append(hist, h...)
	}
	if err := s.commitCompositeStates([]*CompositeAlarm{old}, []*CompositeAlarm{next}, hist); err != nil {
		return nil, err
	}
	s.compositesOf(c.Tenant)[c.Name] = next
	s.compositeTransitioned(hist)
	s.onChildTransitions(hist)
	return awsapi.Object{}, nil
}

// checkChildren refuses rules naming alarms that do not exist or that would
// close a cycle through c. s.mu must be held.
func (s *Service) checkChildren(c *CompositeAlarm) error {
	var missing []string
	for _, n := range c.rule.children() {
		if n == c.Name {
			return awsapi.ValidationError("Error in alarm rule: the composite alarm %s cannot reference itself.", c.Name)
		}
		if s.alarms[c.Tenant][n] == nil && s.composites[c.Tenant][n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return awsapi.ValidationError("Could not save the composite alarm as alarms [%s] in the alarm rule do not exist", strings.Join(missing, ", "))
	}
	// A cycle: c is reachable from its own children through composites.
	seen := map[string]bool{}
	var reaches func(name string) bool
	reaches = func(name string) bool {
		if name == c.Name {
			return true
		}
		p := s.composites[c.Tenant][name]
		if p == nil || seen[name] {
			return false
		}
		seen[name] = true
		return slices.ContainsFunc(p.rule.children(), reaches)
	}
	for _, n := range c.rule.children() {
		if reaches(n) {
			return awsapi.ValidationError("Error in alarm rule: the composite alarm %s would depend on itself through %s (a cycle).", c.Name, n)
		}
	}
	return nil
}

// parseComposite reads and validates a PutCompositeAlarm request.
func parseComposite(in awsapi.Input) (*CompositeAlarm, error) {
	c := &CompositeAlarm{ActionsEnabled: true}
	if !in.Has("AlarmName") {
		return nil, nullError("alarmName")
	}
	c.Name = in.String("AlarmName")
	if err := checkName(c.Name, "alarmName"); err != nil {
		return nil, err
	}
	if !in.Has("AlarmRule") {
		return nil, nullError("alarmRule")
	}
	c.Rule = in.String("AlarmRule")
	if len(c.Rule) < 1 || len(c.Rule) > maxRuleLen {
		return nil, awsapi.ConstraintError(c.Rule, "alarmRule", "have length between 1 and 10240")
	}
	var err error
	if c.rule, err = parseRule(c.Rule); err != nil {
		return nil, awsapi.ValidationError("Error in alarm rule: %v", err)
	}
	if in.Has("AlarmDescription") {
		d := in.String("AlarmDescription")
		if len(d) > maxDescLen {
			return nil, awsapi.ConstraintError(d, "alarmDescription", "have length less than or equal to 1024")
		}
		c.Description = &d
	}
	if v, ok, err := in.Bool("ActionsEnabled"); err != nil {
		return nil, err
	} else if ok {
		c.ActionsEnabled = v
	}
	// parseAlarm's action and tag rules are the same; reuse them through an Alarm.
	probe := &Alarm{}
	for _, l := range []struct {
		member string
		dst    *[]string
		src    *[]string
	}{{"OKActions", &c.OKActions, &probe.OKActions}, {"AlarmActions", &c.AlarmActions, &probe.AlarmActions},
		{"InsufficientDataActions", &c.InsufficientDataActions, &probe.InsufficientDataActions}} {
		acts := in.Strings(l.member)
		if len(acts) > maxActions {
			return nil, awsapi.ConstraintError(strings.Join(acts, ", "), awsapi.CoralPath(l.member), "have length less than or equal to 5")
		}
		for _, act := range acts {
			if len(act) < 1 || len(act) > maxActionLen {
				return nil, awsapi.ConstraintError(act, awsapi.CoralPath(l.member), "have length between 1 and 1024")
			}
		}
		*l.dst = acts
	}
	if err := parseTags(in, probe); err != nil {
		return nil, err
	}
	c.Tags = probe.Tags
	c.ActionsSuppressor = in.String("ActionsSuppressor")
	for _, p := range []struct {
		member string
		dst    **int64
	}{{"ActionsSuppressorWaitPeriod", &c.ActionsSuppressorWaitPeriod}, {"ActionsSuppressorExtensionPeriod", &c.ActionsSuppressorExtensionPeriod}} {
		v, ok, err := in.Int(p.member)
		if err != nil {
			return nil, err
		}
		if ok {
			if c.ActionsSuppressor == "" {
				return nil, awsapi.InvalidParameterCombination("%s requires ActionsSuppressor.", p.member)
			}
			*p.dst = &v
		}
	}
	return c, nil
}

// stateOf returns the state value of the tenant's alarm of either kind
// ("" when there is none). s.mu must be held.
func (s *Service) stateOf(tenant, name string) (State, bool) {
	if a := s.alarms[tenant][name]; a != nil {
		return a.State, true
	}
	if c := s.composites[tenant][name]; c != nil {
		return c.State, true
	}
	return State{}, false
}

// evalComposite evaluates c's rule: ALARM when true, OK when false. The
// reason names the triggering children: those in changed, or every child
// when changed is empty. s.mu must be held.
func (s *Service) evalComposite(c *CompositeAlarm, changed []string, now time.Time) State {
	value := StateOK
	if c.rule.eval(func(n string) string { st, _ := s.stateOf(c.Tenant, n); return st.Value }) {
		value = StateAlarm
	}
	trig := changed
	if len(trig) == 0 {
		trig = c.rule.children()
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
		st, ok := s.stateOf(c.Tenant, n)
		if !ok {
			continue
		}
		if len(list) == 0 && len(changed) > 0 {
			reason = fmt.Sprintf("%s transitioned to %s at %s", arnPrefix+n, st.Value, st.Transitioned.UTC().Format("Monday 02 January, 2006 15:04:05 MST"))
		}
		list = append(list, trigJSON{ARN: arnPrefix + n, State: stateJSON{Value: st.Value, Timestamp: isoTime(st.Transitioned)}})
	}
	data, _ := json.Marshal(map[string]any{"triggeringAlarms": list})
	if list == nil {
		data = []byte(`{"triggeringAlarms":[]}`)
	}
	return State{Value: value, Reason: reason, ReasonData: string(data), Updated: now}
}

// setCompositeState is setState for composite alarms.
func (s *Service) setCompositeState(c *CompositeAlarm, st State) (*CompositeAlarm, []HistoryItem) {
	next := *c
	var hist []HistoryItem
	next.State, hist = transition(c.Tenant, c.Name, alarmTypeComposit, c.State, st)
	return &next, hist
}

// onChildTransitions re-evaluates the composite alarms that depend, directly
// or through other composites, on the alarms whose state changed in hist
// (the StateUpdate items among them). s.mu must be held for writing.
func (s *Service) onChildTransitions(hist []HistoryItem) {
	changed := map[string][]string{}
	var now time.Time
	for _, h := range hist {
		if h.Type == HistoryStateUpdate && !slices.Contains(changed[h.Tenant], h.AlarmName) {
			changed[h.Tenant] = append(changed[h.Tenant], h.AlarmName)
			now = h.Timestamp
		}
	}
	for tenant, names := range changed {
		if len(s.composites[tenant]) > 0 {
			s.propagate(tenant, names, now)
		}
	}
}

// propagate re-evaluates, until nothing changes, every composite alarm of the
// tenant with a child among dirty, and stores the ones whose state changes.
func (s *Service) propagate(tenant string, dirty []string, now time.Time) {
	comps := s.composites[tenant]
	names := make([]string, 0, len(comps))
	for n := range comps {
		names = append(names, n)
	}
	sort.Strings(names)
	var put []*CompositeAlarm
	var hist []HistoryItem
	prev := map[string]*CompositeAlarm{} // states before this propagation, restored if the write fails
	for pass := 0; pass <= len(names); pass++ {
		moved := false
		for _, n := range names {
			c := comps[n]
			var trig []string
			for _, ch := range c.rule.children() {
				if slices.Contains(dirty, ch) {
					trig = append(trig, ch)
				}
			}
			if len(trig) == 0 {
				continue
			}
			next, h := s.setCompositeState(c, s.evalComposite(c, trig, now))
			if len(h) == 0 {
				continue
			}
			if _, ok := prev[n]; !ok {
				prev[n] = c
			}
			comps[n] = next
			put = append(put, next)
			hist = append(hist, h...)
			if !slices.Contains(dirty, n) {
				dirty = append(dirty, n)
			}
			moved = true
		}
		if !moved {
			break
		}
	}
	if len(put) == 0 {
		return
	}
	put = put[:0]
	before := make([]*CompositeAlarm, 0, len(prev))
	for n, c := range prev {
		put = append(put, comps[n])
		before = append(before, c)
	}
	if err := s.commitCompositeStates(before, put, hist); err != nil {
		s.logger.Error("write composite alarm states", "tenant", tenant, "alarms", len(put), "err", err)
		for n, c := range prev {
			comps[n] = c
		}
		return
	}
	s.compositeTransitioned(hist)
}

// setCompositeStateAPI serves SetAlarmState for a composite alarm: the state
// stays until a child changes or the configuration is updated. s.mu must be
// held for writing.
func (s *Service) setCompositeStateAPI(tenant, name string, st State) (awsapi.Object, error) {
	c := s.composites[tenant][name]
	if c == nil {
		return nil, awsapi.ResourceNotFound("")
	}
	next, hist := s.setCompositeState(c, st)
	if err := s.commitCompositeStates([]*CompositeAlarm{c}, []*CompositeAlarm{next}, hist); err != nil {
		return nil, err
	}
	s.composites[tenant][name] = next
	s.compositeTransitioned(hist)
	s.onChildTransitions(hist)
	return awsapi.Object{}, nil
}

// setCompositeActionsEnabled serves Enable/DisableAlarmActions for the
// composite alarms among names. s.mu must be held for writing.
func (s *Service) setCompositeActionsEnabled(tenant string, names []string, on bool) error {
	var put []*CompositeAlarm
	for _, n := range names {
		c := s.composites[tenant][n]
		if c == nil || c.ActionsEnabled == on || slices.ContainsFunc(put, func(p *CompositeAlarm) bool { return p.Name == n }) {
			continue
		}
		next := *c
		next.ActionsEnabled = on
		put = append(put, &next)
	}
	if len(put) == 0 {
		return nil
	}
	if err := s.writeComposites(put, nil, nil); err != nil {
		return err
	}
	for _, c := range put {
		s.composites[tenant][c.Name] = c
	}
	return nil
}

// compositeTransitioned is the one place every durable composite alarm
// transition passes (PutCompositeAlarm, SetAlarmState, a child's
// transition): it counts and logs them. Notifications for composite alarms
// hook here. s.mu is held for writing.
func (s *Service) compositeTransitioned(hist []HistoryItem) {
	for _, h := range hist {
		if h.Type != HistoryStateUpdate || h.AlarmType != alarmTypeComposit {
			continue
		}
		to := h.Summary[strings.LastIndexByte(h.Summary, ' ')+1:]
		s.transitions.WithLabelValues(to).Inc()
		s.logger.Debug("composite alarm transition", "tenant", h.Tenant, "alarm", h.AlarmName, "summary", h.Summary)
	}
}
