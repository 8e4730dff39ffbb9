package alarmapi

import (
	"context"
	"net/http"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Handler serves one API operation, as ingest.Server registers them.
type Handler = func(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error)

// API serves the alarm API operations over a store.
type API struct {
	store *alerting.Store
}

// New returns the API over store.
func New(store *alerting.Store) *API { return &API{store: store} }

// Handlers returns the alarm API operations by name, for ingest.Server.Register.
func (s *API) Handlers() map[string]Handler {
	return map[string]Handler{
		"PutMetricAlarm":          s.PutMetricAlarm,
		"DescribeAlarms":          s.DescribeAlarms,
		"DescribeAlarmsForMetric": s.DescribeAlarmsForMetric,
		"DeleteAlarms":            s.DeleteAlarms,
		"SetAlarmState":           s.SetAlarmState,
		"DescribeAlarmHistory":    s.DescribeAlarmHistory,
		"EnableAlarmActions":      s.EnableAlarmActions,
		"DisableAlarmActions":     s.DisableAlarmActions,
		"PutCompositeAlarm":       s.PutCompositeAlarm,
		"TagResource":             s.TagResource,
		"UntagResource":           s.UntagResource,
		"ListTagsForResource":     s.ListTagsForResource,
	}
}
