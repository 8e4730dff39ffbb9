package alarmapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/query"
)

// Limits of PutMetricAlarm (docs/cloudwatch-api.md §4.1).
const (
	maxActions       = 5
	maxDimensions    = 30
	maxNameLen       = 255
	maxDescLen       = 1024
	maxActionLen     = 1024
	maxEvalSpan      = 7 * 24 * 3600 // Period × EvaluationPeriods
	maxEvalSpanShort = 24 * 3600     // the same when Period < 1 h
)

var (
	states            = []string{alerting.StateOK, alerting.StateAlarm, alerting.StateInsufficientData}
	simpleStatistics  = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
	staticOperators   = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}
	allOperators      = append(slices.Clone(staticOperators), "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
	treatments        = []string{alerting.TreatBreaching, alerting.TreatNotBreaching, alerting.TreatIgnore, alerting.TreatMissing}
	historyItemTypes  = []string{alerting.HistoryConfigurationUpdate, alerting.HistoryStateUpdate, alerting.HistoryAction, "AlarmContributorStateUpdate", "AlarmContributorAction"}
	alarmTypes        = []string{alerting.TypeComposite, alerting.TypeMetric}
	scanByValues      = []string{"TimestampDescending", "TimestampAscending"}
	lowSampleSettings = []string{"evaluate", "ignore"}
)

// PutMetricAlarm creates an alarm or overwrites one's configuration.
func (s *API) PutMetricAlarm(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	a, err := parseAlarm(req.Input)
	if err != nil {
		return nil, err
	}
	return s.put(req, a)
}

// put stores the alarm of either type parsed from req, in req's tenant.
func (s *API) put(req *awsapi.Request, a alerting.Any) (awsapi.Object, error) {
	a.Common().Tenant = awsapi.TenantOf(req)
	if err := s.store.Put(a); err != nil {
		return nil, apiError(err)
	}
	return awsapi.Object{}, nil
}

// parseAlarm reads and validates a PutMetricAlarm request.
func parseAlarm(in awsapi.Input) (*alerting.Alarm, error) {
	a := &alerting.Alarm{}
	if err := parseBase(in, &a.Base); err != nil {
		return nil, err
	}
	if in.Has("ThresholdMetricId") {
		return nil, awsapi.InvalidParameterValue("Anomaly detection alarms (ThresholdMetricId) are not supported.")
	}
	if in.Has("Metrics") {
		if err := parseMetrics(in, a); err != nil { // math.go
			return nil, err
		}
	} else if err := parseAlarmMetric(in, a); err != nil {
		return nil, err
	}
	if err := parseEvaluation(in, a); err != nil {
		return nil, err
	}
	return a, parseTags(in, &a.Base)
}

// parseBase reads and validates what both alarm types share: the name,
// description and actions.
func parseBase(in awsapi.Input, b *alerting.Base) error {
	b.ActionsEnabled = true
	if !in.Has("AlarmName") {
		return nullError("alarmName")
	}
	b.Name = in.String("AlarmName")
	if err := checkName(b.Name, "alarmName"); err != nil {
		return err
	}
	if in.Has("AlarmDescription") {
		d := in.String("AlarmDescription")
		if len(d) > maxDescLen {
			return awsapi.ConstraintError(d, "alarmDescription", "have length less than or equal to 1024")
		}
		b.Description = &d
	}
	if v, ok, err := in.Bool("ActionsEnabled"); err != nil {
		return err
	} else if ok {
		b.ActionsEnabled = v
	}
	for _, l := range []struct {
		member string
		dst    *[]string
	}{{"OKActions", &b.OKActions}, {"AlarmActions", &b.AlarmActions}, {"InsufficientDataActions", &b.InsufficientDataActions}} {
		acts := in.Strings(l.member)
		if len(acts) > maxActions {
			return awsapi.ConstraintError(strings.Join(acts, ", "), awsapi.CoralPath(l.member), "have length less than or equal to 5")
		}
		for i, act := range acts {
			if len(act) < 1 || len(act) > maxActionLen {
				return awsapi.ConstraintError(act, awsapi.CoralPath(l.member+".member."+strconv.Itoa(i+1)), "have length between 1 and 1024")
			}
		}
		*l.dst = acts
	}
	return nil
}

func nullError(member string) error { return awsapi.NullError(member) }

func checkName(name, member string) error {
	if len(name) < 1 || len(name) > maxNameLen {
		return awsapi.ConstraintError(name, member, "have length between 1 and 255")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return awsapi.ConstraintError(name, member, `satisfy regular expression pattern: [^\x00-\x1F\x7F]+`)
	}
	return nil
}

func parseAlarmMetric(in awsapi.Input, a *alerting.Alarm) error {
	for _, p := range []struct {
		member string
		dst    *string
	}{{"Namespace", &a.Metric.Namespace}, {"MetricName", &a.Metric.MetricName}} {
		if !in.Has(p.member) {
			return awsapi.MissingParameter("The parameter %s is required.", p.member)
		}
		*p.dst = in.String(p.member)
		if len(*p.dst) < 1 || len(*p.dst) > 255 {
			return awsapi.ConstraintError(*p.dst, awsapi.CoralPath(p.member), "have length between 1 and 255")
		}
	}
	dims := in.Structs("Dimensions")
	if len(dims) > maxDimensions {
		return awsapi.ConstraintError(len(dims), "dimensions", "have length less than or equal to 30")
	}
	for i, d := range dims {
		dim := alerting.Dimension{Name: d.String("Name"), Value: d.String("Value")}
		for _, f := range []struct{ member, v string }{{"Name", dim.Name}, {"Value", dim.Value}} {
			if len(f.v) < 1 || len(f.v) > 255 {
				return awsapi.ConstraintError(f.v, "dimensions."+strconv.Itoa(i+1)+".member."+strings.ToLower(f.member), "have length between 1 and 255")
			}
		}
		if slices.ContainsFunc(a.Metric.Dimensions, func(o alerting.Dimension) bool { return o.Name == dim.Name }) {
			return awsapi.InvalidParameterValue("The dimension %s appears more than once.", dim.Name)
		}
		a.Metric.Dimensions = append(a.Metric.Dimensions, dim)
	}
	slices.SortFunc(a.Metric.Dimensions, func(x, y alerting.Dimension) int { return strings.Compare(x.Name, y.Name) })
	a.Statistic, a.ExtendedStatistic = in.String("Statistic"), in.String("ExtendedStatistic")
	switch {
	case in.Has("Statistic") && in.Has("ExtendedStatistic"):
		return awsapi.InvalidParameterCombination("The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.")
	case !in.Has("Statistic") && !in.Has("ExtendedStatistic"):
		return awsapi.MissingParameter("Must specify either Statistic or ExtendedStatistic.")
	case in.Has("Statistic") && !slices.Contains(simpleStatistics, a.Statistic):
		return awsapi.ConstraintError(a.Statistic, "statistic", "satisfy enum value set: ["+strings.Join(simpleStatistics, ", ")+"]")
	case in.Has("ExtendedStatistic") && !alarmStatistic(a.ExtendedStatistic):
		// The exact AWS wording is unverified; the code is AWS's.
		return awsapi.InvalidParameterValue("The value %s for parameter ExtendedStatistic is not supported.", a.ExtendedStatistic)
	}
	if in.Has("Unit") {
		a.Unit = in.String("Unit")
		if err := awsapi.CheckUnit(a.Unit, "Unit"); err != nil {
			return err
		}
	}
	return nil
}

func parseEvaluation(in awsapi.Input, a *alerting.Alarm) error {
	period := a.Period // the Metrics form's, from its returned query
	if !a.IsMath() {
		p, ok, err := in.Int("Period")
		if err != nil {
			return err
		}
		if !ok {
			return awsapi.MissingParameter("The parameter Period is required.")
		}
		if p < 1 {
			return awsapi.ConstraintError(p, "period", "have value greater than or equal to 1")
		}
		period = p
	}
	if period != 10 && period != 20 && period != 30 && period%60 != 0 {
		return awsapi.ValidationError("Period must be 10, 20, 30 or a multiple of 60")
	}
	a.Period = period
	n, ok, err := in.Int("EvaluationPeriods")
	if err != nil {
		return err
	}
	if !ok {
		return awsapi.MissingParameter("The parameter EvaluationPeriods is required.")
	}
	if n < 1 {
		return awsapi.ConstraintError(n, "evaluationPeriods", "have value greater than or equal to 1")
	}
	switch span := period * n; {
	case span > maxEvalSpan:
		return awsapi.ValidationError("Metrics cannot be checked across more than a week (EvaluationPeriods * Period must be <= %d)", maxEvalSpan)
	case period < 3600 && span > maxEvalSpanShort:
		return awsapi.ValidationError("Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= %d)", maxEvalSpanShort)
	}
	a.EvaluationPeriods = int(n)
	m, ok, err := in.Int("DatapointsToAlarm")
	if err != nil {
		return err
	}
	if ok {
		if m < 1 {
			return awsapi.ConstraintError(m, "datapointsToAlarm", "have value greater than or equal to 1")
		}
		if m > n {
			return awsapi.ValidationError("DatapointsToAlarm must be less than or equal to EvaluationPeriods")
		}
		a.DatapointsToAlarm = int(m)
	}
	th, ok, err := in.Float("Threshold")
	if err != nil {
		return err
	}
	if !ok {
		return awsapi.MissingParameter("The parameter Threshold is required.")
	}
	a.Threshold = th
	if !in.Has("ComparisonOperator") {
		return awsapi.MissingParameter("The parameter ComparisonOperator is required.")
	}
	a.ComparisonOperator = in.String("ComparisonOperator")
	if !slices.Contains(allOperators, a.ComparisonOperator) {
		return awsapi.ConstraintError(a.ComparisonOperator, "comparisonOperator", "satisfy enum value set: ["+strings.Join(allOperators, ", ")+"]")
	}
	if !slices.Contains(staticOperators, a.ComparisonOperator) {
		return awsapi.InvalidParameterCombination("The comparison operator %s is only valid for anomaly detection alarms.", a.ComparisonOperator)
	}
	if in.Has("TreatMissingData") {
		a.TreatMissingData = in.String("TreatMissingData")
		if len(a.TreatMissingData) < 1 || len(a.TreatMissingData) > 255 {
			return awsapi.ConstraintError(a.TreatMissingData, "treatMissingData", "have length between 1 and 255")
		}
		if !slices.Contains(treatments, a.TreatMissingData) {
			return awsapi.ValidationError("Option %s is not supported. Supported options for parameter TreatMissingData are breaching, notBreaching, ignore and missing.", a.TreatMissingData)
		}
	}
	if in.Has("EvaluateLowSampleCountPercentile") {
		a.EvaluateLowSampleCountPercentile = in.String("EvaluateLowSampleCountPercentile")
		if !slices.Contains(lowSampleSettings, a.EvaluateLowSampleCountPercentile) {
			return awsapi.ValidationError("Option %s is not supported. Supported options for parameter EvaluateLowSampleCountPercentile are evaluate and ignore.", a.EvaluateLowSampleCountPercentile)
		}
	}
	return nil
}

// parseTags reads the Tags of a Put; they apply only when it creates the
// alarm (the store keeps an existing alarm's tags).
func parseTags(in awsapi.Input, a *alerting.Base) error {
	tags, err := awsapi.ParseTags(in, "Tags", "tags")
	if err != nil {
		return err
	}
	a.Tags, err = awsapi.MergeTags(nil, tags)
	return err
}

// alarmStatistic reports whether an alarm takes ext as its
// ExtendedStatistic: a statistic the evaluator can compute, in the
// stricter set the alarm API allows (query.Statistic.AlarmAllowed).
func alarmStatistic(ext string) bool {
	st, ok := query.ParseStatistic(ext)
	return ok && st.AlarmAllowed()
}
