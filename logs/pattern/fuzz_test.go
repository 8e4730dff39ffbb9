package pattern

import "testing"

// FuzzParse checks that Parse never panics on any pattern and that Match,
// Get and ExtractedValues never panic on any message.
func FuzzParse(f *testing.F) {
	for _, c := range loadFixture(f).Cases {
		f.Add(c.Pattern, c.Message)
	}
	f.Add(`{ $.a[0].b = "x" || ($.c IS NULL && $.d NOT EXISTS) }`, `{"a":[{"b":"x"}]}`)
	f.Add(`[a, ..., b = 1 || b = 2 && b != 3, ...]`, `"x y" [z] 1`)
	f.Fuzz(func(t *testing.T, pat, msg string) {
		if len(pat) > 1024 || len(msg) > 1<<16 {
			return
		}
		p, err := Parse(pat)
		if err != nil {
			var pe *Error
			if !asError(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not *Error", pat, err)
			}
			if len(pe.Msg) > 256 {
				t.Fatalf("Parse(%q) message is %d bytes", pat, len(pe.Msg))
			}
			return
		}
		fields, _ := p.Match(msg)
		for _, s := range p.Selectors() {
			fields.Get(s)
		}
		fields.Get("$1")
		fields.Get(msg)
		fields.ExtractedValues()
		tr := Transformation{MetricName: "m", MetricNamespace: "n", MetricValue: "1"}
		if sels := p.Selectors(); len(sels) > 0 {
			tr.MetricValue = sels[0]
		}
		if err := tr.Validate(p); err != nil {
			t.Fatalf("Validate with the pattern's own selector: %v", err)
		}
		tr.Apply(fields, true)
	})
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error) //nolint:errorlint // Parse returns *Error unwrapped; the fuzz target checks exactly that
	if ok {
		*target = e
	}
	return ok
}
