package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// SetAlarmState sets an alarm's state until its next evaluation.
func (s *Service) SetAlarmState(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	for _, m := range []string{"AlarmName", "StateValue", "StateReason"} {
		if !in.Has(m) {
			return nil, nullError(awsapi.CoralPath(m))
		}
	}
	name, value, reason, data := in.String("AlarmName"), in.String("StateValue"), in.String("StateReason"), in.String("StateReasonData")
	if err := checkName(name, "alarmName"); err != nil {
		return nil, err
	}
	if !slices.Contains(states, value) {
		return nil, stateEnumError(value)
	}
	if len(reason) > 1023 {
		return nil, awsapi.ConstraintError(reason, "stateReason", "have length between 0 and 1023")
	}
	if len(data) > 4000 {
		return nil, awsapi.ConstraintError(data, "stateReasonData", "have length between 0 and 4000")
	}
	if data != "" && !json.Valid([]byte(data)) {
		return nil, awsapi.InvalidFormat("Invalid JSON in StateReasonData")
	}
	tenant := awsapi.TenantOf(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[tenant][name]
	if a == nil {
		return s.setCompositeStateAPI(tenant, name, State{Value: value, Reason: reason, ReasonData: data, Updated: s.cfg.Now().UTC()})
	}
	next, hist := s.setState(a, State{Value: value, Reason: reason, ReasonData: data, Updated: s.cfg.Now().UTC()})
	if err := s.commitStates([]*Alarm{a}, []*Alarm{next}, hist); err != nil { // notify_outbox.go
		return nil, err
	}
	s.alarms[tenant][name] = next
	s.onChildTransitions(hist) // composite.go
	if len(hist) > 0 {
		s.transitions.WithLabelValues(value).Inc()
	}
	return awsapi.Object{}, nil
}

// DeleteAlarms deletes the named alarms; unknown names are ignored. Their
// history stays.
func (s *Service) DeleteAlarms(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	names, err := alarmNames(req.Input)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.deleteComposites(tenant, names, now); err != nil { // composite.go
		return nil, err
	}
	var del []*Alarm
	var hist []HistoryItem
	for _, n := range names {
		a := s.alarms[tenant][n]
		if a == nil || slices.Contains(del, a) {
			continue
		}
		del = append(del, a)
		hist = append(hist, HistoryItem{Tenant: tenant, AlarmName: n, AlarmType: alarmTypeMetric, Timestamp: now,
			Type: HistoryConfigurationUpdate, Summary: fmt.Sprintf("Alarm %q deleted", n),
			Data: `{"version":"1.0","type":"Delete","deletedAlarm":` + alarmJSON(a) + `}`})
	}
	if len(del) == 0 {
		return awsapi.Object{}, nil
	}
	if err := s.db.write(nil, del, hist); err != nil {
		return nil, err
	}
	for _, a := range del {
		delete(s.alarms[tenant], a.Name)
	}
	return awsapi.Object{}, nil
}

// EnableAlarmActions turns the named alarms' actions on.
func (s *Service) EnableAlarmActions(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	return s.setActionsEnabled(req, true)
}

// DisableAlarmActions turns the named alarms' actions off; their state still changes.
func (s *Service) DisableAlarmActions(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	return s.setActionsEnabled(req, false)
}

func (s *Service) setActionsEnabled(req *awsapi.Request, on bool) (awsapi.Object, error) {
	names, err := alarmNames(req.Input)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setCompositeActionsEnabled(tenant, names, on); err != nil { // composite.go
		return nil, err
	}
	var put []*Alarm
	for _, n := range names {
		a := s.alarms[tenant][n]
		if a == nil || a.ActionsEnabled == on {
			continue // unknown names succeed silently, as on AWS
		}
		c := *a
		c.ActionsEnabled = on
		put = append(put, &c)
	}
	if len(put) == 0 {
		return awsapi.Object{}, nil
	}
	if err := s.db.write(put, nil, nil); err != nil {
		return nil, err
	}
	for _, a := range put {
		s.alarms[tenant][a.Name] = a
	}
	return awsapi.Object{}, nil
}

func alarmNames(in awsapi.Input) ([]string, error) {
	if !in.Has("AlarmNames") {
		return nil, nullError("alarmNames")
	}
	names := in.Strings("AlarmNames")
	if len(names) > maxNamesPerCall {
		return nil, awsapi.ConstraintError(strings.Join(names, ", "), "alarmNames", "have length less than or equal to 100")
	}
	for _, n := range names {
		if err := checkName(n, "alarmNames"); err != nil {
			return nil, err
		}
	}
	return names, nil
}
