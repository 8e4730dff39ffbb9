package ingest

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// datum is a MetricData member as the JSON protocol decodes it.
func datum(kv ...any) map[string]any {
	m := map[string]any{"MetricName": "m"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func input(ns string, data ...map[string]any) awsapi.Input {
	l := make([]any, len(data))
	for i, d := range data {
		l[i] = d
	}
	return awsapi.Input{"Namespace": ns, "MetricData": l}
}

func TestPutMetricDataValidation(t *testing.T) {
	tooMany := make([]map[string]any, 1001)
	for i := range tooMany {
		tooMany[i] = datum("Value", 1.0)
	}
	dims31 := make([]any, 31)
	for i := range dims31 {
		dims31[i] = map[string]any{"Name": string(rune('a'+i%26)) + strings.Repeat("x", i/26), "Value": "v"}
	}
	values151 := make([]any, 151)
	for i := range values151 {
		values151[i] = float64(i)
	}
	for name, tc := range map[string]struct {
		in      awsapi.Input
		code    string
		message string // exact when it is one of AWS's recorded messages, else a substring
	}{
		"Value and Values": {input("ns", datum("Value", 1.0, "Values", []any{1.0, 2.0})), "InvalidParameterCombination",
			"The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both."},
		"Values and Counts of other sizes": {input("ns", datum("Values", []any{1.0, 2.0}, "Counts", []any{1.0, 2.0, 3.0})), "InvalidParameterValue",
			"The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size."},
		"Value and StatisticValues": {input("ns", datum("Value", 1.0, "StatisticValues", map[string]any{"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0})), "InvalidParameterCombination",
			"The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually exclusive and you have specified both."},
		"NaN value": {input("ns", datum("Value", "NaN")), "InvalidParameterValue",
			"The value NaN for parameter MetricData.member.1.Value is invalid."},
		"infinite value":        {input("ns", datum("Value", "Infinity")), "InvalidParameterValue", "The value Infinity for parameter MetricData.member.1.Value is invalid."},
		"value over 2^360":      {input("ns", datum("Value", math.Pow(2, 361))), "InvalidParameterValue", "for parameter MetricData.member.1.Value is invalid."},
		"second member checked": {input("ns", datum("Value", 1.0), datum("Value", "NaN")), "InvalidParameterValue", "MetricData.member.2.Value"},
		"missing namespace":     {awsapi.Input{"MetricData": []any{datum("Value", 1.0)}}, "MissingParameter", "The parameter Namespace is required."},
		"AWS/ namespace":        {input("AWS/EC2", datum("Value", 1.0)), "InvalidParameterValue", "AWS/EC2"},
		"namespace with colon":  {input(":ns", datum("Value", 1.0)), "ValidationError", "[^:].*"},
		"namespace too long":    {input(strings.Repeat("n", 256), datum("Value", 1.0)), "ValidationError", "have length between 1 and 255"},
		"no metric data":        {input("ns"), "MissingParameter", "The parameter MetricData is required."},
		"1001 metrics":          {input("ns", tooMany...), "InvalidParameterValue", "must not have a size greater than 1000"},
		"missing metric name":   {input("ns", map[string]any{"Value": 1.0}), "MissingParameter", "The parameter MetricData.member.1.MetricName is required."},
		"31 dimensions":         {input("ns", datum("Value", 1.0, "Dimensions", dims31)), "InvalidParameterValue", "MetricData.member.1.Dimensions must not have a size greater than 30"},
		"dimension without value": {input("ns", datum("Value", 1.0, "Dimensions", []any{map[string]any{"Name": "a"}})), "MissingParameter",
			"The parameter MetricData.member.1.Dimensions.member.1.Value is required."},
		"dimension value too long": {input("ns", datum("Value", 1.0, "Dimensions", []any{map[string]any{"Name": "a", "Value": strings.Repeat("v", 1025)}})), "ValidationError", "between 1 and 1024"},
		"151 values":               {input("ns", datum("Values", values151)), "InvalidParameterValue", "must not have a size greater than 150"},
		"statistic set without sum": {input("ns", datum("StatisticValues", map[string]any{"SampleCount": 1.0, "Minimum": 1.0, "Maximum": 1.0})), "MissingParameter",
			"The parameter MetricData.member.1.StatisticValues.Sum is required."},
		"bad unit":             {input("ns", datum("Value", 1.0, "Unit", "Furlongs")), "ValidationError", "Value 'Furlongs' at 'metricData.1.member.unit' failed to satisfy constraint: Member must satisfy enum value set: [Seconds,"},
		"storage resolution 5": {input("ns", datum("Value", 1.0, "StorageResolution", 5.0)), "InvalidParameterValue", "The value 5 for parameter MetricData.member.1.StorageResolution is invalid."},
		"three weeks old":      {input("ns", datum("Value", 1.0, "Timestamp", testNow.Add(-21*24*time.Hour))), "InvalidParameterValue", "two weeks in the past"},
		"three hours ahead":    {input("ns", datum("Value", 1.0, "Timestamp", testNow.Add(3*time.Hour))), "InvalidParameterValue", "two hours in the future"},
		"no value at all":      {input("ns", datum()), "MissingParameter", "MetricData.member.1.Value"},
		"duplicate dimension":  {input("ns", datum("Value", 1.0, "Dimensions", []any{map[string]any{"Name": "a", "Value": "1"}, map[string]any{"Name": "a", "Value": "2"}})), "InvalidParameterValue", "more than once"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parsePutMetricData(tc.in, testNow)
			aerr, ok := errors.AsType[*awsapi.Error](err)
			if !ok {
				t.Fatalf("got %v; want an *awsapi.Error %s", err, tc.code)
			}
			if aerr.Code != tc.code || !strings.Contains(aerr.Message, tc.message) {
				t.Errorf("got %s: %q; want %s: %q", aerr.Code, aerr.Message, tc.code, tc.message)
			}
		})
	}
}

func TestPutMetricDataNormalises(t *testing.T) {
	in := input("ns",
		datum("Value", 1.0, "Dimensions", []any{map[string]any{"Name": "b", "Value": "2"}, map[string]any{"Name": "a", "Value": "1"}}),
		datum("Values", []any{1.0, 10.0}, "Counts", []any{2.0, 4.0}, "StorageResolution", 1.0, "Unit", "Seconds"),
		datum("Values", []any{3.0, 4.0}),
		datum("StatisticValues", map[string]any{"SampleCount": 10.0, "Sum": 55.0, "Minimum": 1.0, "Maximum": 10.0}, "Timestamp", testNow.Add(-time.Hour)),
	)
	rec, err := parsePutMetricData(in, testNow)
	if err != nil {
		t.Fatal(err)
	}
	d := rec.Datums
	if d[0].Dimensions[0].Name != "a" || d[0].Unit != "None" || d[0].HighRes || d[0].Timestamp != testNow.UnixMilli() {
		t.Errorf("datum 1: got %+v; want sorted dims, unit None, standard resolution, timestamp now", d[0])
	}
	if !d[1].HighRes || d[1].Unit != "Seconds" || len(d[1].Counts) != 2 || d[1].Counts[1] != 4 {
		t.Errorf("datum 2: got %+v", d[1])
	}
	if d[2].Counts[0] != 1 || d[2].Counts[1] != 1 {
		t.Errorf("datum 3: counts default to 1, got %v", d[2].Counts)
	}
	if d[3].Stats == nil || d[3].Stats.Sum != 55 || d[3].Timestamp != testNow.Add(-time.Hour).UnixMilli() {
		t.Errorf("datum 4: got %+v", d[3])
	}
}
