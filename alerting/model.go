package alerting

import (
	"slices"
	"strings"
	"time"
)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// TreatMissingData values.
const (
	TreatMissing      = "missing"
	TreatIgnore       = "ignore"
	TreatBreaching    = "breaching"
	TreatNotBreaching = "notBreaching"
)

// History item types.
const (
	HistoryConfigurationUpdate = "ConfigurationUpdate"
	HistoryStateUpdate         = "StateUpdate"
	HistoryAction              = "Action"
)

// historyRetention is how long history items are kept (AWS: 2 weeks).
const historyRetention = 14 * 24 * time.Hour

const arnPrefix = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:"

var (
	states            = []string{StateOK, StateAlarm, StateInsufficientData}
	simpleStatistics  = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
	staticOperators   = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}
	allOperators      = append(slices.Clone(staticOperators), "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
	treatments        = []string{TreatBreaching, TreatNotBreaching, TreatIgnore, TreatMissing}
	historyItemTypes  = []string{HistoryConfigurationUpdate, HistoryStateUpdate, HistoryAction, "AlarmContributorStateUpdate", "AlarmContributorAction"}
	alarmTypes        = []string{"CompositeAlarm", "MetricAlarm"}
	scanByValues      = []string{"TimestampDescending", "TimestampAscending"}
	lowSampleSettings = []string{"evaluate", "ignore"}
)

// Dimension is one name/value pair of a metric.
type Dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag is one key/value tag of an alarm.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric names the single metric an alarm watches.
type Metric struct {
	Namespace  string      `json:"namespace"`
	MetricName string      `json:"metricName"`
	Dimensions []Dimension `json:"dimensions,omitempty"` // sorted by name
}

// key identifies the metric within a tenant.
func (m Metric) key() string {
	var b strings.Builder
	b.WriteString(m.Namespace)
	b.WriteByte(0)
	b.WriteString(m.MetricName)
	for _, d := range m.Dimensions {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.Value)
	}
	return b.String()
}

// State is an alarm's current state.
type State struct {
	Value        string    `json:"value"`
	Reason       string    `json:"reason"`
	ReasonData   string    `json:"reasonData,omitempty"`
	Updated      time.Time `json:"updated"`
	Transitioned time.Time `json:"transitioned"`
}

// Alarm is a metric alarm: its configuration and its state.
type Alarm struct {
	Tenant                           string            `json:"tenant"`
	Name                             string            `json:"name"`
	Description                      *string           `json:"description,omitempty"`
	ActionsEnabled                   bool              `json:"actionsEnabled"`
	OKActions                        []string          `json:"okActions,omitempty"`
	AlarmActions                     []string          `json:"alarmActions,omitempty"`
	InsufficientDataActions          []string          `json:"insufficientDataActions,omitempty"`
	Metric                           Metric            `json:"metric"`
	Statistic                        string            `json:"statistic,omitempty"`
	ExtendedStatistic                string            `json:"extendedStatistic,omitempty"`
	Period                           int64             `json:"period"`
	Unit                             string            `json:"unit,omitempty"`
	EvaluationPeriods                int               `json:"evaluationPeriods"`
	DatapointsToAlarm                int               `json:"datapointsToAlarm,omitempty"` // 0: not set (= EvaluationPeriods)
	Threshold                        float64           `json:"threshold"`
	ComparisonOperator               string            `json:"comparisonOperator"`
	TreatMissingData                 string            `json:"treatMissingData,omitempty"`
	EvaluateLowSampleCountPercentile string            `json:"evaluateLowSampleCountPercentile,omitempty"`
	Metrics                          []MetricDataQuery `json:"metrics,omitempty"` // the metric math form (mathalarm.go); Metric, Statistic and Unit are then empty
	Tags                             []Tag             `json:"tags,omitempty"`
	ConfigUpdated                    time.Time         `json:"configUpdated"`
	State                            State             `json:"state"`
}

// ARN returns the alarm's ARN.
func (a *Alarm) ARN() string { return arnPrefix + a.Name }

// M returns DatapointsToAlarm, defaulting to EvaluationPeriods.
func (a *Alarm) M() int {
	if a.DatapointsToAlarm > 0 {
		return a.DatapointsToAlarm
	}
	return a.EvaluationPeriods
}

// Stat returns the statistic the alarm evaluates.
func (a *Alarm) Stat() string {
	if a.ExtendedStatistic != "" {
		return a.ExtendedStatistic
	}
	return a.Statistic
}

// Treatment returns TreatMissingData as evaluated: missing by default, and
// always ignore for AWS/DynamoDB, as AWS does.
func (a *Alarm) Treatment() string {
	if a.Metric.Namespace == "AWS/DynamoDB" {
		return TreatIgnore
	}
	if a.TreatMissingData == "" {
		return TreatMissing
	}
	return a.TreatMissingData
}

// actions returns every action of the alarm.
func (a *Alarm) actions() []string {
	return slices.Concat(a.OKActions, a.AlarmActions, a.InsufficientDataActions)
}

// HistoryItem is one entry of an alarm's history.
type HistoryItem struct {
	Tenant    string    `json:"tenant"`
	AlarmName string    `json:"alarmName"`
	AlarmType string    `json:"alarmType"`
	Timestamp time.Time `json:"timestamp"`
	Type      string    `json:"type"`
	Summary   string    `json:"summary"`
	Data      string    `json:"data"`
}
