package alerting

import (
	"strings"
	"testing"
)

// show prints a parsed rule fully parenthesised, to check precedence.
func show(n *ruleNode) string {
	switch n.op {
	case "TRUE", "FALSE":
		return n.op
	case "NOT":
		return "NOT " + show(n.args[0])
	case "AND", "OR":
		return "(" + show(n.args[0]) + " " + n.op + " " + show(n.args[1]) + ")"
	}
	return n.op + "(" + n.alarm + ")"
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		rule, want, err string
	}{
		{rule: `ALARM("a")`, want: `ALARM(a)`},
		{rule: `ALARM(a)`, want: `ALARM(a)`},
		{rule: ` OK( "my alarm" ) `, want: `OK(my alarm)`},
		{rule: `INSUFFICIENT_DATA(x-1.b)`, want: `INSUFFICIENT_DATA(x-1.b)`},
		{rule: `ALARM("quote\"d")`, want: `ALARM(quote"d)`},
		{rule: `TRUE`, want: `TRUE`},
		{rule: `FALSE`, want: `FALSE`},
		{rule: `ALARM(a) AND NOT OK(b)`, want: `(ALARM(a) AND NOT OK(b))`},
		{rule: `ALARM(a) OR ALARM(b) AND ALARM(c)`, want: `(ALARM(a) OR (ALARM(b) AND ALARM(c)))`},
		{rule: `ALARM(a) AND ALARM(b) OR ALARM(c)`, want: `((ALARM(a) AND ALARM(b)) OR ALARM(c))`},
		{rule: `NOT ALARM(a) AND ALARM(b)`, want: `(NOT ALARM(a) AND ALARM(b))`},
		{rule: `NOT (ALARM(a) OR ALARM(b))`, want: `NOT (ALARM(a) OR ALARM(b))`},
		{rule: `(ALARM(a) OR ALARM(b)) AND ALARM(c)`, want: `((ALARM(a) OR ALARM(b)) AND ALARM(c))`},
		{rule: `NOT NOT TRUE`, want: `NOT NOT TRUE`},
		{rule: `ALARM(a) OR OK(b) OR FALSE`, want: `((ALARM(a) OR OK(b)) OR FALSE)`},
		{rule: ``, err: "unexpected end of rule"},
		{rule: `ALARM`, err: "expected ( after ALARM"},
		{rule: `ALARM()`, err: "missing alarm name"},
		{rule: `ALARM("")`, err: "empty alarm name"},
		{rule: `ALARM("a`, err: "unterminated alarm name"},
		{rule: `ALARM("a"`, err: "expected ) after the alarm name"},
		{rule: `(ALARM(a)`, err: "missing closing parenthesis"},
		{rule: `ALARM(a) AND`, err: "unexpected end of rule"},
		{rule: `ALARM(a) XOR ALARM(b)`, err: `unexpected "XOR"`},
		{rule: `alarm(a)`, err: `unexpected "alarm"`},
		{rule: `true`, err: `unexpected "true"`},
		{rule: `ALARM(a))`, err: `unexpected ")"`},
		{rule: `AND ALARM(a)`, err: `unexpected "AND"`},
	} {
		n, err := parseRule(tc.rule)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got error %v; want one containing %q", tc.rule, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.rule, err)
		case tc.err == "" && show(n) != tc.want:
			t.Errorf("%q: parsed as %s; want %s", tc.rule, show(n), tc.want)
		}
	}
}

func TestEvalRule(t *testing.T) {
	states := map[string]string{"a": StateAlarm, "b": StateOK, "c": StateInsufficientData}
	state := func(n string) string { return states[n] }
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{`ALARM(a)`, true},
		{`ALARM(b)`, false},
		{`OK(b)`, true},
		{`INSUFFICIENT_DATA(c)`, true},
		{`INSUFFICIENT_DATA(a)`, false},
		{`ALARM(a) AND NOT OK(b)`, false},
		{`ALARM(a) AND NOT OK(c)`, true},
		{`ALARM(b) OR ALARM(a) AND OK(b)`, true},
		{`(ALARM(b) OR ALARM(a)) AND ALARM(b)`, false},
		{`NOT ALARM(a) OR OK(b)`, true},
		{`NOT (ALARM(a) OR OK(b))`, false},
		{`TRUE AND FALSE`, false},
		{`FALSE OR TRUE`, true},
		{`ALARM(gone)`, false},
		{`NOT OK(gone)`, true},
	} {
		n, err := parseRule(tc.rule)
		if err != nil {
			t.Fatalf("%q: %v", tc.rule, err)
		}
		if got := n.eval(state); got != tc.want {
			t.Errorf("%q: got %v; want %v", tc.rule, got, tc.want)
		}
	}
}
