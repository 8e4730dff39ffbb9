package query

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
)

// Dynamic labels (docs/labels.md): a GetMetricData Label may hold tokens
// such as ${PROP('Dim.Host')} or ${MAX}, filled in per returned series from
// its metric and from its datapoints in the requested range.

// maxDynamicValues is AWS's limit of tokens in one label.
const maxDynamicValues = 5

// labelToken matches every ${...} in a label; the name is checked apart, so
// an unknown token stays literal.
var labelToken = regexp.MustCompile(`\$\{([A-Z_]+|PROP\('[^']*'\))\}`)

// labelProps is what a series' label tokens can name besides its values.
type labelProps struct {
	namespace, metricName string
	dims                  []record.Dimension
	period                int64
	stat                  string
}

// labelTemplate is a Label with dynamic tokens and the request's way of
// rendering them; the zero value is no template.
type labelTemplate struct {
	text string
	ctx  labelContext
}

// parseLabelTemplate checks label's tokens: at most five known ones, and
// ${LABEL} at most once. A label without a known token is not a template.
func parseLabelTemplate(label, path string) (labelTemplate, error) {
	n, labels := 0, 0
	for _, m := range labelToken.FindAllStringSubmatch(label, -1) {
		if !knownToken(m[1]) {
			continue // left as written
		}
		n++
		if m[1] == "LABEL" {
			labels++
		}
	}
	switch {
	case n == 0:
		return labelTemplate{}, nil
	case n > maxDynamicValues:
		return labelTemplate{}, awsapi.InvalidParameterValue("The value for parameter %s has %d dynamic values; a label may have at most %d.", path, n, maxDynamicValues)
	case labels > 1:
		return labelTemplate{}, awsapi.InvalidParameterValue("The value for parameter %s uses ${LABEL} more than once; it may appear once.", path)
	}
	return labelTemplate{text: label}, nil
}

var valueTokens = map[string]bool{
	"AVG": true, "MIN": true, "MAX": true, "SUM": true, "DATAPOINT_COUNT": true, "FIRST": true, "LAST": true,
	"FIRST_LAST_RANGE": true, "MIN_MAX_RANGE": true, "FIRST_TIME": true, "LAST_TIME": true, "MIN_TIME": true,
	"MAX_TIME": true, "FIRST_LAST_TIME_RANGE": true, "MIN_MAX_TIME_RANGE": true, "FIRST_TIME_RELATIVE": true,
	"LAST_TIME_RELATIVE": true, "MIN_TIME_RELATIVE": true, "MAX_TIME_RELATIVE": true, "LABEL": true,
}

func knownToken(name string) bool {
	if prop, ok := strings.CutPrefix(name, "PROP('"); ok {
		prop = strings.TrimSuffix(prop, "')")
		switch prop {
		case "MetricName", "Namespace", "Period", "Stat", "Region", "AccountId", "AccountLabel":
			return true
		}
		return strings.HasPrefix(prop, "Dim.") && len(prop) > len("Dim.")
	}
	return valueTokens[name]
}

// labelContext is what filling a template needs beyond the series.
type labelContext struct {
	now time.Time
	tz  *time.Location // LabelOptions.Timezone
}

// fill returns t with every known token replaced for the series times and
// values of metric props, whose default label is defaultLabel.
func (t labelTemplate) fill(props labelProps, times []int64, values []float64, defaultLabel string) string {
	lc := t.ctx
	if lc.tz == nil {
		lc.tz = time.UTC
	}
	st := seriesStatsOf(times, values)
	return labelToken.ReplaceAllStringFunc(t.text, func(tok string) string {
		name := tok[2 : len(tok)-1]
		if !knownToken(name) {
			return tok
		}
		if prop, ok := strings.CutPrefix(name, "PROP('"); ok {
			return props.value(strings.TrimSuffix(prop, "')"))
		}
		if name == "LABEL" {
			return defaultLabel
		}
		return st.token(name, lc)
	})
}

// value is one ${PROP('...')} of the series.
func (p labelProps) value(prop string) string {
	switch prop {
	case "MetricName":
		return p.metricName
	case "Namespace":
		return p.namespace
	case "Period":
		if p.period == 0 {
			return ""
		}
		return strconv.FormatInt(p.period, 10)
	case "Stat":
		return p.stat
	case "Region":
		return awsapi.Region
	case "AccountId":
		return awsapi.AccountID
	case "AccountLabel":
		return "" // no cross-account sources
	}
	name := strings.TrimPrefix(prop, "Dim.")
	for _, d := range p.dims {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// seriesStats are the values of a series' datapoints that tokens name.
type seriesStats struct {
	n                          int
	sum, min, max, first, last float64
	firstT, lastT, minT, maxT  int64
	hasValues                  bool
}

func seriesStatsOf(times []int64, values []float64) seriesStats {
	st := seriesStats{min: math.Inf(1), max: math.Inf(-1)}
	for i, v := range values {
		t := times[i]
		if !st.hasValues || t < st.firstT {
			st.first, st.firstT = v, t
		}
		if !st.hasValues || t > st.lastT {
			st.last, st.lastT = v, t
		}
		if v < st.min {
			st.min, st.minT = v, t
		}
		if v > st.max {
			st.max, st.maxT = v, t
		}
		st.sum += v
		st.n++
		st.hasValues = true
	}
	return st
}

// token renders a value or time token; with no datapoints in range every
// one but DATAPOINT_COUNT is empty.
func (st seriesStats) token(name string, lc labelContext) string {
	if name == "DATAPOINT_COUNT" {
		return strconv.Itoa(st.n)
	}
	if !st.hasValues {
		return ""
	}
	switch name {
	case "AVG":
		return labelNumber(st.sum / float64(st.n))
	case "MIN":
		return labelNumber(st.min)
	case "MAX":
		return labelNumber(st.max)
	case "SUM":
		return labelNumber(st.sum)
	case "FIRST":
		return labelNumber(st.first)
	case "LAST":
		return labelNumber(st.last)
	case "FIRST_LAST_RANGE":
		return labelNumber(st.last - st.first)
	case "MIN_MAX_RANGE":
		return labelNumber(st.max - st.min)
	case "FIRST_TIME":
		return labelTime(st.firstT, lc.tz)
	case "LAST_TIME":
		return labelTime(st.lastT, lc.tz)
	case "MIN_TIME":
		return labelTime(st.minT, lc.tz)
	case "MAX_TIME":
		return labelTime(st.maxT, lc.tz)
	case "FIRST_LAST_TIME_RANGE":
		return labelDuration(st.lastT - st.firstT)
	case "MIN_MAX_TIME_RANGE":
		return labelDuration(absInt64(st.maxT - st.minT))
	case "FIRST_TIME_RELATIVE":
		return labelDuration(max(0, lc.now.Unix()-st.firstT))
	case "LAST_TIME_RELATIVE":
		return labelDuration(max(0, lc.now.Unix()-st.lastT))
	case "MIN_TIME_RELATIVE":
		return labelDuration(max(0, lc.now.Unix()-st.minT))
	case "MAX_TIME_RELATIVE":
		return labelDuration(max(0, lc.now.Unix()-st.maxT))
	}
	return ""
}

// labelNumber prints v with at most four decimals and no trailing zeros.
func labelNumber(v float64) string {
	r := math.Round(v*1e4) / 1e4
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// labelTime prints a Unix time as "2006-01-02 15:04:05" in tz.
func labelTime(unix int64, tz *time.Location) string {
	return time.Unix(unix, 0).In(tz).Format(time.DateTime)
}

// labelDuration prints seconds compactly: "0s", "45s", "5m", "1h 5m",
// "2d 3h" (the two largest units).
func labelDuration(sec int64) string {
	if sec == 0 {
		return "0s"
	}
	units := []struct {
		name string
		size int64
	}{{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}
	var parts []string
	for _, u := range units {
		if n := sec / u.size; n > 0 && len(parts) < 2 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			sec -= n * u.size
		} else if len(parts) > 0 {
			break // the second unit follows the first directly
		}
	}
	return strings.Join(parts, " ")
}

func absInt64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// parseLabelTimezone reads LabelOptions.Timezone: "+HHMM" or "-HHMM", UTC by
// default.
func parseLabelTimezone(in awsapi.Input) (*time.Location, error) {
	opts := in.Struct("LabelOptions")
	if opts == nil || !opts.Has("Timezone") {
		return time.UTC, nil
	}
	tz := opts.String("Timezone")
	bad := awsapi.ConstraintError(tz, "labelOptions.timezone", "satisfy regular expression pattern: [+-][0-9]{4} (an offset HHMM from UTC)")
	if len(tz) != 5 || (tz[0] != '+' && tz[0] != '-') {
		return nil, bad
	}
	hh, err1 := strconv.Atoi(tz[1:3])
	mm, err2 := strconv.Atoi(tz[3:5])
	if err1 != nil || err2 != nil || hh > 23 || mm > 59 || strings.ContainsAny(tz[1:], "+-") {
		return nil, bad
	}
	offset := hh*3600 + mm*60
	if tz[0] == '-' {
		offset = -offset
	}
	return time.FixedZone(tz, offset), nil
}
