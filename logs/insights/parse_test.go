package insights

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
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

// globRegexp is the regexp a parse glob stands for (the reference for
// matchGlob): each * captures the
// shortest text up to the next literal; a final * captures the rest.
func globRegexp(glob string) *regexp.Regexp {
	parts := strings.Split(glob, "*")
	var b strings.Builder
	b.WriteString("(?s)")
	for i, part := range parts {
		if i > 0 {
			if i == len(parts)-1 && part == "" {
				b.WriteString("(.*)")
			} else {
				b.WriteString("(.*?)")
			}
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	return regexp.MustCompile(b.String())
}

// TestMatchGlob checks the glob matcher against the glob's regexp.
func TestMatchGlob(t *testing.T) {
	globs := []string{"user=* action=*", "*", "* *", "a*b*c", "**x", "[*]", "id=* ", "no star", "*=*;", "served in *ms"}
	inputs := []string{"", "user=bob action=login", "user=a action=b action=c", "xx user= action=", "abcabc", "aXbYc", "a b c",
		"xxx", "[1] [2]", "id=7 id=8 ", "no star here", "k=v;k2=v2;", "k=v", "served in 12ms served in 3ms", "é*ü user=ü action=é"}
	for _, g := range globs {
		parts, re := strings.Split(g, "*"), globRegexp(g)
		for _, in := range inputs {
			m := re.FindStringSubmatch(in)
			caps, ok := matchGlob(in, parts, nil)
			if ok != (m != nil) || ok && !slices.Equal(caps, m[1:]) {
				t.Errorf("glob %q on %q: %q, %v; regexp %q", g, in, caps, ok, m)
			}
		}
	}
}

func FuzzMatchGlob(f *testing.F) {
	f.Add("a*b*", "xxaybzb")
	f.Fuzz(func(t *testing.T, g, in string) {
		if strings.Count(g, "*") > 5 || !utf8.ValidString(g) {
			return
		}
		m := globRegexp(g).FindStringSubmatch(in)
		caps, ok := matchGlob(in, strings.Split(g, "*"), nil)
		if ok != (m != nil) || ok && !slices.Equal(caps, m[1:]) {
			t.Errorf("glob %q on %q: %q, %v; regexp %q", g, in, caps, ok, m)
		}
	})
}
