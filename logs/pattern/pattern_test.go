package pattern

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
)

type fixture struct {
	Cases []struct {
		Name    string            `json:"name"`
		Pattern string            `json:"pattern"`
		Message string            `json:"message"`
		Match   bool              `json:"match"`
		Values  map[string]string `json:"values"`
	} `json:"cases"`
	Errors []struct {
		Pattern string `json:"pattern"`
		Message string `json:"message"`
	} `json:"errors"`
}

func loadFixture(t testing.TB) fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestMatch runs the fixture's cases: the AWS documentation's sample events
// and patterns, and the edges this package decides (see doc.go).
func TestMatch(t *testing.T) {
	f := loadFixture(t)
	if len(f.Cases) < 100 {
		t.Fatalf("fixture has %d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			p, err := Parse(c.Pattern)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.Pattern, err)
			}
			fields, ok := p.Match(c.Message)
			if ok != c.Match {
				t.Fatalf("Match(%q) on %q = %v, want %v", c.Pattern, c.Message, ok, c.Match)
			}
			if c.Values == nil {
				return
			}
			got := fields.ExtractedValues()
			if got == nil {
				got = map[string]string{}
			}
			if !maps.Equal(got, c.Values) {
				t.Fatalf("extracted values = %v, want %v", got, c.Values)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range loadFixture(t).Errors {
		t.Run(c.Pattern, func(t *testing.T) {
			_, err := Parse(c.Pattern)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want *Error", c.Pattern, err)
			}
			if pe.Msg != c.Message {
				t.Fatalf("Parse(%q) message\n got %q\nwant %q", c.Pattern, pe.Msg, c.Message)
			}
			if len(pe.Msg) > 200 {
				t.Fatalf("message is %d bytes", len(pe.Msg))
			}
		})
	}
}

func TestGet(t *testing.T) {
	p, err := Parse("[ip, ..., status=5*, bytes]")
	if err != nil {
		t.Fatal(err)
	}
	f, ok := p.Match(`10.0.0.1 - - "GET /" 503 77`)
	if !ok {
		t.Fatal("no match")
	}
	for sel, want := range map[string]string{"$ip": "10.0.0.1", "$status": "503", "$bytes": "77", "$1": "10.0.0.1", "$2": "503", "$3": "77"} {
		if got, ok := f.Get(sel); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", sel, got, ok, want)
		}
	}
	for _, sel := range []string{"$4", "$0", "$nope", "ip", "$.ip", ""} {
		if got, ok := f.Get(sel); ok {
			t.Errorf("Get(%q) = %q, want none", sel, got)
		}
	}
	if got := p.Selectors(); len(got) != 3 || got[0] != "$ip" || got[2] != "$bytes" {
		t.Errorf("Selectors() = %v", got)
	}

	jp, err := Parse(`{ $.a.b = * }`)
	if err != nil {
		t.Fatal(err)
	}
	jf, ok := jp.Match(`{"a":{"b":"x","c":{"d":[1,"<y>"]}}}`)
	if !ok {
		t.Fatal("no match")
	}
	for sel, want := range map[string]string{"$.a.b": "x", "$.a.c.d[1]": "<y>", "$.a.c": `{"d":[1,"<y>"]}`} {
		if got, ok := jf.Get(sel); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", sel, got, ok, want)
		}
	}
	if _, ok := jf.Get("$.a.z"); ok {
		t.Error("Get($.a.z) found a value")
	}

	tp, err := Parse("ERROR")
	if err != nil {
		t.Fatal(err)
	}
	tf, ok := tp.Match("ERROR x")
	if !ok {
		t.Fatal("no match")
	}
	if _, ok := tf.Get("$1"); ok || tf.ExtractedValues() != nil {
		t.Error("a term pattern has fields")
	}
}

// TestTermsDoNotAllocate guards the FilterLogEvents scan path.
func TestTermsDoNotAllocate(t *testing.T) {
	p, err := Parse(`ERROR ?timeout ?refused -"health check"`)
	if err != nil {
		t.Fatal(err)
	}
	msg := "2026-12-02T14:00:00Z ERROR request 42 failed: connection refused by upstream"
	if n := testing.AllocsPerRun(100, func() { p.Match(msg) }); n != 0 {
		t.Fatalf("Match allocates %v times per call", n)
	}
	if _, ok := p.Match(msg); !ok {
		t.Fatal("no match")
	}
}

// TestLinear checks that wildcards and ellipses do not backtrack
// exponentially: these would take ages with naive recursion.
func TestLinear(t *testing.T) {
	long := strings.Repeat("a ", 30<<10)
	for _, pat := range []string{
		"[..., a=*a*a*a*a*a*b, ..., b, ..., c]",
		manyEllipses(50),
	} {
		p, err := Parse(pat)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.Match(long); ok {
			t.Fatalf("%s matched", pat)
		}
	}
	g := newGlob(strings.Repeat("*a", 100) + "*b")
	if g.match(strings.Repeat("a", 100000)) {
		t.Fatal("glob matched")
	}
}

func manyEllipses(n int) string {
	out := "["
	for i := range n {
		out += "..., x" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=a*, "
	}
	return out + "z=b]"
}
