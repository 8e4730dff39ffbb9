package alerting

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/alerting/notify"
)

var operatorText = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"GreaterThanThreshold":          "greater than",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// isoTime formats t as AWS's alarm JSON does: 2024-01-03T17:29:50.000+0000.
// reasonTime formats a period start as StateReason shows it (MM/dd/yy HH:mm:ss UTC).
func reasonTime(sec int64) string { return time.Unix(sec, 0).UTC().Format("01/02/06 15:04:05") }

// fmtValue prints a double as AWS does in reasons: at least one decimal.
func fmtValue(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEIN") {
		s += ".0"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// filledPeriods returns the missing (not unknown) periods filled by
// TreatMissingData: the most recent ones, newest first.
func filledPeriods(points []Point, n int) []int {
	var out []int
	for i := len(points) - 1; i >= 0 && len(out) < n; i-- {
		if !points[i].Present && !points[i].Unknown {
			out = append(out, i)
		}
	}
	return out
}

// Reason returns the StateReason and StateReasonData of decision d for
// alarm a over points, evaluated at now, in AWS's formats (docs/cloudwatch-api.md §4.4).
func Reason(a *Alarm, points []Point, d Decision, now time.Time) (reason, data string) {
	var b strings.Builder
	list := func(idx []int) string {
		parts := make([]string, 0, len(idx))
		for i := len(idx) - 1; i >= 0; i-- { // newest first
			p := points[idx[i]]
			parts = append(parts, fmtValue(p.Value)+" ("+reasonTime(p.Time)+")")
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	op, th := operatorText[a.ComparisonOperator], fmtValue(a.Threshold)
	treated := "[NonBreaching]"
	if a.Treatment() == TreatBreaching {
		treated = "[Breaching]"
	}
	ev, e := d.Evaluated, len(d.Evaluated)
	switch {
	case len(d.Unknown) > 0:
		times := make([]string, len(d.Unknown))
		for i, idx := range d.Unknown {
			times[i] = reasonTime(points[idx].Time)
		}
		fmt.Fprintf(&b, "Insufficient Data: %d %s unknown: no store could vouch for %s [%s], and the known datapoints do not decide the state.",
			len(d.Unknown), plural(len(d.Unknown), "period was", "periods were"), plural(len(d.Unknown), "it", "them"), strings.Join(times, ", "))
	case d.State == StateInsufficientData:
		missing := a.EvaluationPeriods - e
		fmt.Fprintf(&b, "Insufficient Data: %d %s unknown.", missing, plural(missing, "datapoint was", "datapoints were"))
	case e == 0 && d.Filled > 0:
		fmt.Fprintf(&b, "Threshold Crossed: no datapoints were received for %d %s and %d missing %s treated as %s.",
			d.Filled, plural(d.Filled, "period", "periods"), d.Filled, plural(d.Filled, "datapoint was", "datapoints were"), treated)
	default:
		realBreach := d.Breaching
		if a.Treatment() == TreatBreaching {
			realBreach -= d.Filled
		}
		not := ""
		if d.State == StateOK {
			not = "not "
		}
		allAgree := (d.State == StateAlarm && realBreach == e) || (d.State == StateOK && realBreach == 0)
		if allAgree {
			fmt.Fprintf(&b, "Threshold Crossed: %d %s %s %s%s the threshold (%s)", e, plural(e, "datapoint", "datapoints"), list(ev)+" "+plural(e, "was", "were"), not, op, th)
		} else {
			k, minimum, transition := realBreach, a.M(), "OK -> ALARM"
			if d.State == StateOK {
				k, minimum, transition = e-realBreach, a.EvaluationPeriods-a.M()+1, "ALARM -> OK"
			}
			fmt.Fprintf(&b, "Threshold Crossed: %d out of the last %d datapoints %s %s %s%s the threshold (%s) (minimum %d %s for %s transition)",
				k, e, list(ev), plural(k, "was", "were"), not, op, th, minimum, plural(minimum, "datapoint", "datapoints"), transition)
		}
		if d.Filled > 0 {
			fmt.Fprintf(&b, " and %d missing %s treated as %s", d.Filled, plural(d.Filled, "datapoint was", "datapoints were"), treated)
		}
		b.WriteString(".")
	}
	return b.String(), reasonData(a, points, d, now)
}

// reasonData is the StateReasonData JSON (docs/cloudwatch-api.md §4.4), plus
// "unknownPeriods" when unknown periods left the state undecided.
func reasonData(a *Alarm, points []Point, d Decision, now time.Time) string {
	var b strings.Builder
	start := now
	if len(points) > 0 {
		start = time.Unix(points[len(points)-a.EvaluationPeriods:][0].Time, 0)
		if len(d.Evaluated) > 0 {
			start = time.Unix(min(points[d.Evaluated[0]].Time, start.Unix()), 0)
		}
	}
	fmt.Fprintf(&b, `{"version":"1.0","queryDate":"%s","startDate":"%s"`, notify.ISOTime(now), notify.ISOTime(start))
	if a.Unit != "" {
		fmt.Fprintf(&b, `,"unit":%s`, jsonString(a.Unit))
	}
	switch {
	case a.IsMath(): // no statistic: the returned query's series is the value
	case a.ExtendedStatistic != "":
		fmt.Fprintf(&b, `,"extendedStatistic":%s`, jsonString(a.ExtendedStatistic))
	default:
		fmt.Fprintf(&b, `,"statistic":%s`, jsonString(a.Statistic))
	}
	fmt.Fprintf(&b, `,"period":%d,"recentDatapoints":[`, a.Period)
	for i, idx := range d.Evaluated {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(fmtValue(points[idx].Value))
	}
	fmt.Fprintf(&b, `],"threshold":%s`, fmtValue(a.Threshold))
	if len(d.Unknown) > 0 {
		b.WriteString(`,"unknownPeriods":[`)
		for i, idx := range d.Unknown {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s"`, notify.ISOTime(time.Unix(points[idx].Time, 0)))
		}
		b.WriteByte(']')
	}
	b.WriteString(`,"evaluatedDatapoints":[`)
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	for _, idx := range filledPeriods(points, d.Filled) {
		sep()
		fmt.Fprintf(&b, `{"timestamp":"%s"}`, notify.ISOTime(time.Unix(points[idx].Time, 0)))
	}
	for i := len(d.Evaluated) - 1; i >= 0; i-- {
		p := points[d.Evaluated[i]]
		sep()
		if a.IsMath() {
			fmt.Fprintf(&b, `{"timestamp":"%s","value":%s}`, notify.ISOTime(time.Unix(p.Time, 0)), fmtValue(p.Value))
			continue
		}
		fmt.Fprintf(&b, `{"timestamp":"%s","sampleCount":%s,"value":%s}`, notify.ISOTime(time.Unix(p.Time, 0)), fmtValue(p.SampleCount), fmtValue(p.Value))
	}
	b.WriteString("]}")
	return b.String()
}
