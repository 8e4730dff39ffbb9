package query

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
)

func TestLabelTemplateFill(t *testing.T) {
	props := labelProps{namespace: "MyApp", metricName: "Latency", period: 60, stat: "Average",
		dims: []record.Dimension{{Name: "Host", Value: "a"}, {Name: "Zone", Value: "z1"}}}
	base := int64(1_700_000_000) // 2023-11-14 22:13:20 UTC
	times := []int64{base, base + 60, base + 120, base + 180}
	values := []float64{4, 1.25, 9, 3}
	now := time.Unix(base+3600+180, 0)
	for name, tc := range map[string]struct {
		label, tz string
		times     []int64
		values    []float64
		want      string
	}{
		"props":               {label: "${PROP('Namespace')}/${PROP('MetricName')} ${PROP('Dim.Host')} ${PROP('Stat')} ${PROP('Period')}", want: "MyApp/Latency a Average 60"},
		"region and account":  {label: "${PROP('Region')} ${PROP('AccountId')}", want: "us-east-1 000000000000"},
		"missing dimension":   {label: "[${PROP('Dim.Nope')}]", want: "[]"},
		"aggregates":          {label: "${AVG} ${MIN} ${MAX} ${SUM} ${DATAPOINT_COUNT}", want: "4.3125 1.25 9 17.25 4"},
		"first, last, ranges": {label: "${FIRST} ${LAST} ${FIRST_LAST_RANGE} ${MIN_MAX_RANGE}", want: "4 3 -1 7.75"},
		"times in UTC":        {label: "${FIRST_TIME}|${MAX_TIME}", want: "2023-11-14 22:13:20|2023-11-14 22:15:20"},
		"times in +0130":      {label: "${LAST_TIME} ${MIN_TIME}", tz: "+0130", want: "2023-11-14 23:46:20 2023-11-14 23:44:20"},
		"time ranges":         {label: "${FIRST_LAST_TIME_RANGE} ${MIN_MAX_TIME_RANGE}", want: "3m 1m"},
		"relative":            {label: "${FIRST_TIME_RELATIVE} ${LAST_TIME_RELATIVE}", want: "1h 3m 1h"},
		"the default label":   {label: "${LABEL} on ${PROP('Dim.Zone')}", want: "Latency on z1"},
		"unknown tokens stay": {label: "${NOPE} ${PROP('Bogus')} ${MAX}", want: "${NOPE} ${PROP('Bogus')} 9"},
		"no datapoints":       {label: "[${MAX}] n=${DATAPOINT_COUNT} [${FIRST_TIME}]", times: []int64{}, values: []float64{}, want: "[] n=0 []"},
		"four decimals":       {label: "${AVG}", times: []int64{base, base + 60, base + 120}, values: []float64{1, 1, 2}, want: "1.3333"},
	} {
		t.Run(name, func(t *testing.T) {
			tmpl, err := parseLabelTemplate(tc.label, "Label")
			if err != nil {
				t.Fatal(err)
			}
			tz := time.UTC
			if tc.tz != "" {
				in := awsapi.Input{"LabelOptions": map[string]any{"Timezone": tc.tz}}
				if tz, err = parseLabelTimezone(in); err != nil {
					t.Fatal(err)
				}
			}
			if tmpl.text == "" {
				tmpl.text = tc.label // no known token: the label stays as it is
			}
			tmpl.ctx = labelContext{now: now, tz: tz}
			ts, vs := times, values
			if tc.times != nil {
				ts, vs = tc.times, tc.values
			}
			if got := tmpl.fill(props, ts, vs, "Latency"); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestLabelTemplateErrors(t *testing.T) {
	for name, tc := range map[string]struct{ label, want string }{
		"six dynamic values": {"${MIN} ${MAX} ${AVG} ${SUM} ${FIRST} ${LAST}", "at most 5"},
		"LABEL twice":        {"${LABEL} ${LABEL}", "more than once"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseLabelTemplate(tc.label, "MetricDataQueries.member.1.Label")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if tmpl, err := parseLabelTemplate("plain ${NOT_A_TOKEN}", "Label"); err != nil || tmpl.text != "" {
		t.Errorf("a label without known tokens: got %+v, %v; want no template", tmpl, err)
	}
}

func TestLabelTimezone(t *testing.T) {
	for tz, wantOffset := range map[string]int{"+0000": 0, "-0530": -(5*3600 + 30*60), "+1400": 14 * 3600} {
		loc, err := parseLabelTimezone(awsapi.Input{"LabelOptions": map[string]any{"Timezone": tz}})
		if err != nil {
			t.Fatalf("%s: %v", tz, err)
		}
		if _, off := time.Unix(0, 0).In(loc).Zone(); off != wantOffset {
			t.Errorf("%s: offset %d; want %d", tz, off, wantOffset)
		}
	}
	for _, bad := range []string{"0000", "+000", "+00000", "UTC", "+2400", "+0060", "+-100", "++100"} {
		_, err := parseLabelTimezone(awsapi.Input{"LabelOptions": map[string]any{"Timezone": bad}})
		if e, ok := errors.AsType[*awsapi.Error](err); !ok || e.Code != "ValidationError" {
			t.Errorf("%q: got %v; want a ValidationError", bad, err)
		}
	}
}

func TestLabelDuration(t *testing.T) {
	for sec, want := range map[int64]string{0: "0s", 45: "45s", 60: "1m", 65: "1m 5s", 3900: "1h 5m", 3605: "1h", 90000: "1d 1h"} {
		if got := labelDuration(sec); got != want {
			t.Errorf("%d s: got %q; want %q", sec, got, want)
		}
	}
}

// BenchmarkLabelFill: a five-token label over a day of one-minute points.
func BenchmarkLabelFill(b *testing.B) {
	tmpl, err := parseLabelTemplate("${PROP('Dim.Host')} ${MAX} at ${MAX_TIME}, ${AVG} over ${FIRST_LAST_TIME_RANGE}", "Label")
	if err != nil {
		b.Fatal(err)
	}
	tmpl.ctx = labelContext{now: time.Unix(1_700_086_400, 0), tz: time.UTC}
	props := labelProps{metricName: "Latency", dims: []record.Dimension{{Name: "Host", Value: "a"}}}
	times, values := make([]int64, 1440), make([]float64, 1440)
	for i := range times {
		times[i], values[i] = 1_700_000_000+int64(i)*60, float64(i%97)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = tmpl.fill(props, times, values, "Latency")
	}
}
