package alerting

import (
	"encoding/json"
	"testing"
	"time"
)

func TestReason(t *testing.T) {
	base := time.Date(2024, 1, 3, 17, 29, 0, 0, time.UTC).Unix()
	mk := func(s string, n, m int, treat string) (*Alarm, []Point) {
		ps := points(t, s)
		for i := range ps {
			ps[i].Time = base + int64(i)*60
			ps[i].SampleCount = 2
			if ps[i].Present && ps[i].Value == 10 {
				ps[i].Value = 21.5
			}
		}
		a := &Alarm{Base: Base{Name: "a"}, Statistic: "Average", Period: 60, EvaluationPeriods: n, DatapointsToAlarm: m,
			Threshold: 21, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: treat}
		return a, ps
	}
	cases := []struct {
		points    string
		n, m      int
		treat     string
		want      string
		wantState string
	}{
		{"- - X", 1, 1, TreatMissing, "Threshold Crossed: 1 datapoint [21.5 (01/03/24 17:31:00)] was greater than the threshold (21.0).", StateAlarm},
		{"- - 0", 1, 1, TreatMissing, "Threshold Crossed: 1 datapoint [1.0 (01/03/24 17:31:00)] was not greater than the threshold (21.0).", StateOK},
		{"- - - -", 2, 2, TreatBreaching, "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].", StateAlarm},
		{"0 X 0 X X", 3, 2, TreatMissing, "Threshold Crossed: 2 out of the last 3 datapoints [21.5 (01/03/24 17:33:00), 21.5 (01/03/24 17:32:00), 1.0 (01/03/24 17:31:00)] were greater than the threshold (21.0) (minimum 2 datapoints for OK -> ALARM transition).", StateAlarm},
		{"- - - - -", 3, 3, TreatMissing, "Insufficient Data: 3 datapoints were unknown.", StateInsufficientData},
		{"? ? ? ? ?", 3, 3, TreatBreaching, "Insufficient Data: 5 periods were unknown: no store could vouch for them [01/03/24 17:29:00, 01/03/24 17:30:00, 01/03/24 17:31:00, 01/03/24 17:32:00, 01/03/24 17:33:00], and the known datapoints do not decide the state.", StateInsufficientData},
	}
	for _, c := range cases {
		a, ps := mk(c.points, c.n, c.m, c.treat)
		d := Decide(ps, Rule{N: c.n, M: a.M(), Operator: a.ComparisonOperator, Threshold: a.Threshold, Treat: a.Treatment()}, StateOK)
		reason, data := Reason(a, ps, d, time.Unix(base+300, 0))
		if d.State != c.wantState || reason != c.want {
			t.Errorf("%q: got %s %q; want %s %q", c.points, d.State, reason, c.wantState, c.want)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil || m["version"] != "1.0" {
			t.Errorf("%q: StateReasonData %s: %v", c.points, data, err)
		}
	}
}
