package alarmapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// SetAlarmState sets an alarm's state until its next evaluation.
func (s *API) SetAlarmState(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
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
	st := alerting.State{Value: value, Reason: reason, ReasonData: data, Updated: s.store.Now().UTC()}
	if err := s.store.SetState(awsapi.TenantOf(req), name, st); err != nil {
		return nil, apiError(err)
	}
	return awsapi.Object{}, nil
}

// DeleteAlarms deletes the named alarms; unknown names are ignored. Their
// history stays.
func (s *API) DeleteAlarms(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	names, err := alarmNames(req.Input)
	if err != nil {
		return nil, err
	}
	if err := s.store.Delete(awsapi.TenantOf(req), names); err != nil {
		return nil, apiError(err)
	}
	return awsapi.Object{}, nil
}

// EnableAlarmActions turns the named alarms' actions on.
func (s *API) EnableAlarmActions(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	return s.setActionsEnabled(req, true)
}

// DisableAlarmActions turns the named alarms' actions off; their state still changes.
func (s *API) DisableAlarmActions(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	return s.setActionsEnabled(req, false)
}

func (s *API) setActionsEnabled(req *awsapi.Request, on bool) (awsapi.Object, error) {
	names, err := alarmNames(req.Input)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetActionsEnabled(awsapi.TenantOf(req), names, on); err != nil {
		return nil, apiError(err)
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
