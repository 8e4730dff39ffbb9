package dashboards

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	metric := `{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"metrics":[["AWS/EC2","CPUUtilization","InstanceId","i-1"],[".","NetworkIn",".","."],["ns","m",{"stat":"Sum","color":"#ff0000"}],[{"expression":"m1*2","label":"twice","id":"e1"}]],"region":"us-east-1","view":"timeSeries","period":300,"stat":"Average","title":"CPU"}}`
	many := strings.TrimSuffix(strings.Repeat(`{"type":"text","properties":{"markdown":"x"}},`, 501), ",")
	for name, tc := range map[string]struct {
		body string
		want []string // "dataPath: message"
	}{
		"empty widgets": {`{"widgets":[]}`, nil},
		"full metric":   {`{"start":"-PT6H","periodOverride":"inherit","widgets":[` + metric + `]}`, nil},
		"text, alarm and log": {`{"widgets":[{"type":"text","properties":{"markdown":"# hi","background":"transparent"}},
			{"type":"alarm","properties":{"alarms":["arn:aws:cloudwatch:us-east-1:000000000000:alarm:a"],"sortBy":"timestamp"}},
			{"type":"log","properties":{"query":"SOURCE 'lg' | fields @message","region":"us-east-1","view":"table"}},
			{"type":"explorer","properties":{}},{"type":"chart","properties":{}}]}`, nil},
		"alarm annotation only": {`{"widgets":[{"type":"metric","properties":{"annotations":{"alarms":["arn"]},"region":"us-east-1"}}]}`, nil},
		"not an object":         {`[]`, []string{": Should be object"}},
		"no widgets":            {`{}`, []string{": Should have required property 'widgets'"}},
		"widgets not array":     {`{"widgets":{}}`, []string{"/widgets: Should be array"}},
		"too many widgets":      {`{"widgets":[` + many + `]}`, []string{"/widgets: Should NOT have more than 500 items"}},
		"bad periodOverride":    {`{"widgets":[],"periodOverride":"sometimes"}`, []string{"/periodOverride: Should be equal to one of the allowed values"}},
		"widget not object":     {`{"widgets":[1]}`, []string{"/widgets/0: Should be object"}},
		"no type nor properties": {`{"widgets":[{}]}`, []string{"/widgets/0: Should have required property 'type'",
			"/widgets/0: Should have required property 'properties'"}},
		"unknown type":      {`{"widgets":[{"type":"pie","properties":{}}]}`, []string{"/widgets/0/type: Should be equal to one of the allowed values"}},
		"properties string": {`{"widgets":[{"type":"text","properties":"x"}]}`, []string{"/widgets/0/properties: Should be object"}},
		"geometry": {`{"widgets":[{"type":"text","x":24,"y":-1,"width":25,"height":0.5,"properties":{"markdown":"x"}}]}`,
			[]string{"/widgets/0/x: Should be <= 23", "/widgets/0/y: Should be >= 0", "/widgets/0/width: Should be <= 24", "/widgets/0/height: Should be integer"}},
		"metric widget with nothing": {`{"widgets":[{"type":"metric","properties":{"title":"t"}}]}`, []string{
			"/widgets/0/properties: Should have required property 'metrics'",
			"/widgets/0/properties: The metric widget should have specified a region and a data source or an alarm annotation",
			"/widgets/0/properties: Should have required property 'annotations'"}},
		"metric widget without region": {`{"widgets":[{"type":"metric","properties":{"metrics":[["ns","m"]]}}]}`, []string{
			"/widgets/0/properties: The metric widget should have specified a region and a data source or an alarm annotation"}},
		"metrics element not array": {`{"widgets":[{"type":"metric","properties":{"metrics":["ns"],"region":"r"}}]}`, []string{
			"/widgets/0/properties/metrics/0: Should be array",
			`/widgets/0/properties/metrics/0: Field "metrics" has to be an array of array of strings, with an optional metricRenderer object as last element`}},
		"renderer not last": {`{"widgets":[{"type":"metric","properties":{"metrics":[["ns",{"stat":"Sum"},"m"]],"region":"r"}}]}`, []string{
			`/widgets/0/properties/metrics/0: Field "metrics" has to be an array of array of strings, with an optional metricRenderer object as last element`}},
		"metrics not array":     {`{"widgets":[{"type":"metric","properties":{"metrics":{},"region":"r"}}]}`, []string{"/widgets/0/properties/metrics: Should be array"}},
		"text without markdown": {`{"widgets":[{"type":"text","properties":{}}]}`, []string{"/widgets/0/properties: Should have required property 'markdown'"}},
		"alarm widget empty":    {`{"widgets":[{"type":"alarm","properties":{"alarms":[]}}]}`, []string{"/widgets/0/properties/alarms: Should NOT have fewer than 1 items"}},
		"log without query":     {`{"widgets":[{"type":"log","properties":{"view":"map"}}]}`, []string{"/widgets/0/properties: Should have required property 'query'", "/widgets/0/properties/view: Should be equal to one of the allowed values"}},
	} {
		msgs, err := Validate(tc.body)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []string
		for _, m := range msgs {
			got = append(got, m.DataPath+": "+m.Message)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, tc.want)
		}
	}
	for _, body := range []string{``, `{`, `{"widgets":[]} x`, `nope`} {
		if _, err := Validate(body); !errors.As(err, new(*errNotJSON)) {
			t.Errorf("%q: %v; want not JSON", body, err)
		}
	}
}

func TestValidateDashboardMetricLimit(t *testing.T) {
	metrics := strings.TrimSuffix(strings.Repeat(`["ns","m"],`, 500), ",")
	w := `{"type":"metric","properties":{"region":"r","metrics":[` + metrics + `]}}`
	body := `{"widgets":[` + strings.TrimSuffix(strings.Repeat(w+",", 6), ",") + `]}`
	msgs, err := Validate(body)
	if err != nil || len(msgs) != 1 || msgs[0].DataPath != "/widgets" || !strings.Contains(msgs[0].Message, "at most 2500") {
		t.Errorf("3000 metrics: %v %v", msgs, err)
	}
}
