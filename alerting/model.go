package alerting

import (
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
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

// Alarm types, as AlarmType and HistoryItem.AlarmType name them.
const (
	TypeMetric    = "MetricAlarm"
	TypeComposite = "CompositeAlarm"
)

// HistoryRetention is how long history items are kept (AWS: 2 weeks).
const HistoryRetention = 14 * 24 * time.Hour

// ARNPrefix starts every alarm's ARN; the name follows.
const ARNPrefix = "arn:aws:cloudwatch:" + awsapi.Region + ":" + awsapi.AccountID + ":alarm:"

// Dimension is one name/value pair of a metric. It is not record.Dimension
// because alarms carry it in their JSON (history, SNS Trigger) with AWS's
// lower-case keys.
type Dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag is one key/value tag of an alarm (the API's, with the same JSON).
type Tag = awsapi.Tag

// Metric names the single metric an alarm watches.
type Metric struct {
	Namespace  string      `json:"namespace"`
	MetricName string      `json:"metricName"`
	Dimensions []Dimension `json:"dimensions,omitempty"` // sorted by name
}

// Key identifies the metric within a tenant.
func (m Metric) Key() string {
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

// Base is what metric and composite alarms share: identity, actions, tags
// and state. Its JSON members are those of the alarm that embeds it.
type Base struct {
	Tenant                  string    `json:"tenant"`
	Name                    string    `json:"name"`
	Description             *string   `json:"description,omitempty"`
	ActionsEnabled          bool      `json:"actionsEnabled"`
	OKActions               []string  `json:"okActions,omitempty"`
	AlarmActions            []string  `json:"alarmActions,omitempty"`
	InsufficientDataActions []string  `json:"insufficientDataActions,omitempty"`
	Tags                    []Tag     `json:"tags,omitempty"`
	ConfigUpdated           time.Time `json:"configUpdated"`
	State                   State     `json:"state"`

	// The versions of this copy, for replication between the nodes of a
	// cluster (replica.go), each a last-writer-wins register: Rev and RevBy
	// version the alarm's definition (configuration, actions, tags; and
	// its existence, against a delete's tombstone), StateRev and StateRevBy
	// its State, so a write of one does not undo a concurrent write of the
	// other. Seq orders this node's own changes for its peers.
	Rev        int64  `json:"rev,omitempty"`
	RevBy      string `json:"revBy,omitempty"`
	StateRev   int64  `json:"stateRev,omitempty"`
	StateRevBy string `json:"stateRevBy,omitempty"`
	Seq        int64  `json:"seq,omitempty"`
}

// Common returns the base (Any).
func (b *Base) Common() *Base { return b }

// ARN returns the alarm's ARN.
func (b *Base) ARN() string { return ARNPrefix + b.Name }

// Actions returns every action of the alarm.
func (b *Base) Actions() []string {
	return slices.Concat(b.OKActions, b.AlarmActions, b.InsufficientDataActions)
}

// actionsFor returns the alarm's actions for state.
func (b *Base) actionsFor(state string) []string {
	switch state {
	case StateOK:
		return b.OKActions
	case StateAlarm:
		return b.AlarmActions
	case StateInsufficientData:
		return b.InsufficientDataActions
	}
	return nil
}

// Any is a metric alarm (*Alarm) or a composite alarm (*CompositeAlarm).
// The store holds them in one map; values it returns are never changed in
// place (a change stores a new copy), so readers may keep them.
type Any interface {
	Common() *Base
	// Type is TypeMetric or TypeComposite.
	Type() string
	clone() Any
	// configJSON is the configuration as history items carry it.
	configJSON() string
	// trigger is the SNS message's Trigger (nil: none), rule its AlarmRule;
	// labels adds the Alertmanager alert's own labels (not overwriting) and
	// returns its own annotations.
	trigger() any
	rule() string
	labels(into map[string]string) (annotations map[string]string)
}

// Alarm is a metric alarm: its configuration and its state.
type Alarm struct {
	Base
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
}

// Type returns TypeMetric.
func (a *Alarm) Type() string { return TypeMetric }

func (a *Alarm) clone() Any { c := *a; return &c }

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

// CompositeAlarm is a composite alarm: its configuration and its state.
type CompositeAlarm struct {
	Base
	Rule                             string `json:"rule"`
	ActionsSuppressor                string `json:"actionsSuppressor,omitempty"`
	ActionsSuppressorWaitPeriod      *int64 `json:"actionsSuppressorWaitPeriod,omitempty"`
	ActionsSuppressorExtensionPeriod *int64 `json:"actionsSuppressorExtensionPeriod,omitempty"`

	parsed *ruleNode // Rule, parsed
}

// Type returns TypeComposite.
func (c *CompositeAlarm) Type() string { return TypeComposite }

func (c *CompositeAlarm) clone() Any { n := *c; return &n }

// ParseRule parses Rule; a syntax error says where.
func (c *CompositeAlarm) ParseRule() error {
	r, err := parseRule(c.Rule)
	if err != nil {
		return err
	}
	c.parsed = r
	return nil
}

// Children returns the alarms the rule names, in order of first mention
// (ParseRule must have succeeded).
func (c *CompositeAlarm) Children() []string { return c.parsed.children() }

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
