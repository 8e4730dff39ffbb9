package insights

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		q  string
		ok bool
	}{
		{"fields @timestamp, @message | sort @timestamp desc | limit 20", true},
		{"fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as x|stats count(*) by bin(1m)", true},
		{"filter status >= 500 and @message like /err(or)?/ | stats avg(latency) as a, pct(latency, 99) by host", true},
		{"parse @message \"user=* action=*\" as user, action | filter action in [\"a\", \"b\"]", true},
		{"fields @timestamp | count()", false},
		{"filter x like /(?=a)/", false},
		{"limit 100001", false},
		{"", false},
	} {
		_, err := Parse(tc.q)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q) = %v, want ok=%v", tc.q, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q): %v is not ErrMalformed", tc.q, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("fields @timestamp | filter a.b.0 = 1 | stats count(*) by bin(5m)")
	f.Fuzz(func(t *testing.T, q string) { _, _ = Parse(q) })
}
