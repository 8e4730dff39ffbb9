package alarmapi

import (
	"context"
	"encoding/base64"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// DescribeAlarmHistory lists history items of the tenant's alarms, deleted
// ones included, newest first unless ScanBy says otherwise.
func (s *API) DescribeAlarmHistory(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	name := in.String("AlarmName")
	if in.Has("AlarmName") {
		if err := checkName(name, "alarmName"); err != nil {
			return nil, err
		}
	}
	types := in.Strings("AlarmTypes")
	for i, t := range types {
		if !slices.Contains(alarmTypes, t) {
			return nil, awsapi.ConstraintError(t, "alarmTypes."+strconv.Itoa(i+1)+".member", "satisfy enum value set: [CompositeAlarm, MetricAlarm]")
		}
	}
	kind := in.String("HistoryItemType")
	if in.Has("HistoryItemType") && !slices.Contains(historyItemTypes, kind) {
		return nil, awsapi.ConstraintError(kind, "historyItemType", "satisfy enum value set: [ConfigurationUpdate, StateUpdate, Action, AlarmContributorStateUpdate, AlarmContributorAction]")
	}
	scanBy := in.String("ScanBy")
	if in.Has("ScanBy") && !slices.Contains(scanByValues, scanBy) {
		return nil, awsapi.ConstraintError(scanBy, "scanBy", "satisfy enum value set: [TimestampDescending, TimestampAscending]")
	}
	from, to := s.store.Now().Add(-alerting.HistoryRetention).UnixMilli(), int64(math.MaxInt64)
	if t, ok, err := in.Time("StartDate"); err != nil {
		return nil, err
	} else if ok {
		from = max(from, t.UnixMilli())
	}
	if t, ok, err := in.Time("EndDate"); err != nil {
		return nil, err
	} else if ok {
		to = t.UnixMilli() + 1 // EndDate is inclusive
	}
	limit, err := maxRecordsOf(in, maxRecords)
	if err != nil {
		return nil, err
	}
	var after []byte
	if in.Has("NextToken") {
		after, err = base64.RawURLEncoding.DecodeString(in.String("NextToken"))
		if err != nil || len(after) != 18 {
			return nil, awsapi.InvalidNextToken("The service couldn't process your request because the NextToken is invalid.")
		}
	}
	tenant := awsapi.TenantOf(req)
	items := awsapi.List{}
	next := ""
	var lastKey []byte
	if from < to {
		err = s.store.History(from, to, scanBy != "TimestampAscending", after, func(key []byte, h *alerting.HistoryItem) bool {
			switch {
			case h.Tenant != tenant:
			case name != "" && h.AlarmName != name:
			case len(types) > 0 && !slices.Contains(types, h.AlarmType):
			case kind != "" && h.Type != kind:
			default:
				if len(items) == limit {
					next = base64.RawURLEncoding.EncodeToString(lastKey)
					return false
				}
				items = append(items, awsapi.Obj("AlarmName", h.AlarmName, "AlarmType", h.AlarmType, "Timestamp", h.Timestamp,
					"HistoryItemType", h.Type, "HistorySummary", h.Summary, "HistoryData", h.Data))
				lastKey = key
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	out := awsapi.Obj("AlarmHistoryItems", items)
	if next != "" {
		out = out.Add("NextToken", next)
	}
	return out, nil
}
