package pattern

import "testing"

func TestQuick(t *testing.T) {
	for _, c := range []struct {
		pat, msg string
		want     bool
	}{
		{"", "x", true},
		{"ERROR", "an ERROR here", true},
		{"ERROR", "an error here", false},
		{"ERROR Exception", "ERROR x Exception", true},
		{"ERROR Exception", "ERROR x", false},
		{"?ERROR ?WARN", "WARN x", true},
		{"?ERROR ?WARN", "INFO x", false},
		{"-ERROR", "INFO x", true},
		{"-ERROR", "ERROR x", false},
		{`"ERROR 500"`, "got ERROR 500 now", true},
		{`[ip, user, ..., status=5*, bytes>1000]`, `1.2.3.4 bob - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 503 2000`, true},
		{`[ip, user, ..., status=5*, bytes>1000]`, `1.2.3.4 bob - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 503 200`, false},
		{`{ $.level = "error" && $.ms > 100 }`, `{"level":"error","ms":150}`, true},
		{`{ $.status = 5* }`, `{"status":503}`, true},
		{`{ $.a.b[1].c = x }`, `{"a":{"b":[{},{"c":"x"}]}}`, true},
	} {
		p, err := Parse(c.pat)
		if err != nil {
			t.Fatalf("%q: %v", c.pat, err)
		}
		if _, got := p.Match(c.msg); got != c.want {
			t.Errorf("%q on %q = %v", c.pat, c.msg, got)
		}
	}
}
