package alerting

import (
	"fmt"
	"strings"
	"testing"
)

// points parses "0 - X ? X": 0 not breaching, X breaching, - missing, ? unknown.
func points(t *testing.T, s string) []Point {
	t.Helper()
	var out []Point
	for i, f := range strings.Fields(s) {
		p := Point{Time: int64(i) * 60}
		switch f {
		case "0":
			p.Present, p.Value = true, 1
		case "X":
			p.Present, p.Value = true, 10
		case "-":
		case "?":
			p.Unknown = true
		default:
			t.Fatalf("bad point %q", f)
		}
		out = append(out, p)
	}
	return out
}

const retain = "retain"

// TestTables drives every cell of Tables A and B (docs/cloudwatch-api.md §4.3); the
// "retain current state" cells run from OK and from ALARM.
func TestTables(t *testing.T) {
	treat := []string{TreatMissing, TreatIgnore, TreatBreaching, TreatNotBreaching}
	rows := []struct {
		name   string
		n, m   int
		points string
		want   [4]string // per treat
	}{
		{"A1", 3, 3, "0 - X - X", [4]string{StateOK, StateOK, StateOK, StateOK}},
		{"A2", 3, 3, "0 - - - -", [4]string{StateOK, StateOK, StateOK, StateOK}},
		{"A3", 3, 3, "- - - - -", [4]string{StateInsufficientData, retain, StateAlarm, StateOK}},
		{"A4", 3, 3, "0 X X - X", [4]string{StateAlarm, StateAlarm, StateAlarm, StateAlarm}},
		{"A5", 3, 3, "- - X - -", [4]string{StateAlarm, retain, StateAlarm, StateOK}},
		{"B1", 3, 2, "0 - X - X", [4]string{StateAlarm, StateAlarm, StateAlarm, StateAlarm}},
		{"B2", 3, 2, "0 0 X 0 X", [4]string{StateAlarm, StateAlarm, StateAlarm, StateAlarm}},
		{"B3", 3, 2, "0 - X - -", [4]string{StateOK, StateOK, StateAlarm, StateOK}},
		{"B4", 3, 2, "- - - - 0", [4]string{StateOK, StateOK, StateAlarm, StateOK}},
		{"B5", 3, 2, "- - - X -", [4]string{StateAlarm, retain, StateAlarm, StateOK}},
		// Beyond the tables: "- - - - X" with M = 3 (2018 table), premature with 2 of 3.
		{"late X, 3 of 3", 3, 3, "- - - - X", [4]string{StateInsufficientData, retain, StateAlarm, StateOK}},
		{"late X, 2 of 3", 3, 2, "- - - - X", [4]string{StateInsufficientData, retain, StateAlarm, StateOK}},
		{"old X, 2 of 3", 3, 2, "- - X - -", [4]string{StateAlarm, retain, StateAlarm, StateOK}},
	}
	for _, row := range rows {
		for c, tr := range treat {
			for _, current := range []string{StateOK, StateAlarm, StateInsufficientData} {
				want := row.want[c]
				if want == retain {
					want = current
				} else if current != StateOK {
					continue // a decided cell does not depend on the current state
				}
				t.Run(fmt.Sprintf("%s/%s/from-%s", row.name, tr, current), func(t *testing.T) {
					r := Rule{N: row.n, M: row.m, Operator: "GreaterThanThreshold", Threshold: 5, Treat: tr}
					d := Decide(points(t, row.points), r, current)
					if d.State != want {
						t.Errorf("%q %d of %d, %s, from %s: got %s (%+v); want %s", row.points, row.m, row.n, tr, current, d.State, d, want)
					}
					if row.want[c] == retain && !d.Kept {
						t.Errorf("retain cell: Kept = false")
					}
				})
			}
		}
	}
}

// TestUnknownPeriods: unknown periods are never filled by TreatMissingData.
func TestUnknownPeriods(t *testing.T) {
	cases := []struct {
		name        string
		n, m        int
		points      string
		treat       string
		current     string
		want        string
		wantUnknown int
	}{
		{"lost data, breaching", 3, 3, "? ? ? ? ?", TreatBreaching, StateOK, StateInsufficientData, 5},
		{"lost data, notBreaching", 3, 3, "? ? ? ? ?", TreatNotBreaching, StateAlarm, StateInsufficientData, 5},
		{"lost data, missing", 3, 3, "? ? ? ? ?", TreatMissing, StateOK, StateInsufficientData, 5},
		{"lost data, ignore", 3, 3, "? ? ? ? ?", TreatIgnore, StateAlarm, StateInsufficientData, 5},
		{"recent part lost, breaching", 3, 3, "- - - ? ?", TreatBreaching, StateOK, StateInsufficientData, 2},
		{"recent part lost, notBreaching", 3, 2, "0 0 0 ? ?", TreatNotBreaching, StateAlarm, StateInsufficientData, 2},
		{"known newest decide ALARM", 3, 3, "? ? X X X", TreatNotBreaching, StateOK, StateAlarm, 0},
		{"known newest decide OK", 3, 3, "? ? 0 0 0", TreatBreaching, StateAlarm, StateOK, 0},
		{"one known OK decides 3 of 3", 3, 3, "? ? 0 ? ?", TreatBreaching, StateAlarm, StateOK, 0},
		{"an old unknown cannot change 3 breaches", 3, 3, "? X X - X", TreatMissing, StateOK, StateAlarm, 0},
		{"old unknown, OK inside the last 3", 3, 2, "? 0 0 0 0", TreatMissing, StateAlarm, StateOK, 0},
		{"unknown inside the last 3", 3, 2, "0 X X ? 0", TreatMissing, StateOK, StateInsufficientData, 1},
		{"many unknown, 3 known newest", 10, 10, "? ? ? ? ? ? ? ? ? ? X X X", TreatBreaching, StateOK, StateInsufficientData, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Rule{N: c.n, M: c.m, Operator: "GreaterThanThreshold", Threshold: 5, Treat: c.treat}
			d := Decide(points(t, c.points), r, c.current)
			if d.State != c.want || len(d.Unknown) != c.wantUnknown {
				t.Errorf("%q %s from %s: got %s with %d unknown (%+v); want %s with %d", c.points, c.treat, c.current, d.State, len(d.Unknown), d, c.want, c.wantUnknown)
			}
		})
	}
}

func TestOperators(t *testing.T) {
	for _, c := range []struct {
		op   string
		v    float64
		want bool
	}{
		{"GreaterThanThreshold", 5, false}, {"GreaterThanThreshold", 5.1, true},
		{"GreaterThanOrEqualToThreshold", 5, true}, {"GreaterThanOrEqualToThreshold", 4.9, false},
		{"LessThanThreshold", 5, false}, {"LessThanThreshold", 4.9, true},
		{"LessThanOrEqualToThreshold", 5, true}, {"LessThanOrEqualToThreshold", 5.1, false},
	} {
		if got := Breaches(c.op, c.v, 5); got != c.want {
			t.Errorf("%s %v vs 5: got %v; want %v", c.op, c.v, got, c.want)
		}
	}
	if RangeLen(3) != 5 || RangeLen(1) != 3 || RangeLen(9) != 12 {
		t.Errorf("RangeLen: %d %d %d", RangeLen(3), RangeLen(1), RangeLen(9))
	}
}

func TestLowSampleIgnored(t *testing.T) {
	p := points(t, "0 0 X X X")
	p[4].LowSample = true
	r := Rule{N: 3, M: 3, Operator: "GreaterThanThreshold", Threshold: 5, Treat: TreatMissing, IgnoreLowSample: true}
	if d := Decide(p, r, StateOK); d.State != StateOK || !d.Kept {
		t.Errorf("low-sample newest with ignore: got %+v; want OK kept", d)
	}
	r.IgnoreLowSample = false
	if d := Decide(p, r, StateOK); d.State != StateAlarm {
		t.Errorf("low-sample newest with evaluate: got %+v; want ALARM", d)
	}
}
