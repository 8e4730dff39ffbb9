package pattern

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// kind is which of the three filter pattern families a Pattern belongs to.
type kind uint8

const (
	kindAll   kind = iota // the empty pattern: every event matches
	kindTerms             // unstructured terms and phrases
	kindSpace             // space-delimited [a, b, ...]
	kindJSON              // JSON { $.a = ... }
)

// Pattern is a parsed filter pattern. It is immutable and safe for concurrent
// use by many goroutines.
type Pattern struct {
	src   string
	kind  kind
	terms termSet
	space *spaceExpr
	json  jsonNode
	// sels are the selectors the pattern names, in order of first
	// appearance: "$name" for space-delimited fields, "$.a.b" for JSON.
	sels []string
}

// Error is a pattern the service rejects. Msg is the text an
// InvalidParameterException carries; it never quotes more than a short
// prefix of the input.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// maxQuote bounds how much of the caller's input an error message repeats.
const maxQuote = 64

// quote returns s cut to maxQuote bytes on a rune boundary.
func quote(s string) string {
	if len(s) <= maxQuote {
		return s
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func errorf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Parse compiles a filter pattern. The empty (or all-blank) pattern matches
// every event. A pattern starting with '{' is a JSON pattern, one starting
// with '[' a space-delimited pattern, anything else a list of terms.
func Parse(s string) (*Pattern, error) {
	t := strings.TrimSpace(s)
	p := &Pattern{src: s}
	switch {
	case t == "":
		p.kind = kindAll
	case t[0] == '{':
		n, sels, err := parseJSON(t)
		if err != nil {
			return nil, err
		}
		p.kind, p.json, p.sels = kindJSON, n, sels
	case t[0] == '[':
		e, err := parseSpace(t)
		if err != nil {
			return nil, err
		}
		p.kind, p.space = kindSpace, e
		for _, f := range e.fields {
			if f.name != "" {
				p.sels = append(p.sels, "$"+f.name)
			}
		}
	default:
		ts, err := parseTerms(t)
		if err != nil {
			return nil, err
		}
		p.kind, p.terms = kindTerms, ts
	}
	return p, nil
}

// String returns the pattern as it was given to Parse.
func (p *Pattern) String() string { return p.src }

// Selectors returns the selectors the pattern defines, which are the names a
// metric transformation may use as its value or dimensions: "$name" for each
// named space-delimited field, "$.a.b" for each JSON selector.
func (p *Pattern) Selectors() []string { return append([]string(nil), p.sels...) }

// defines reports whether sel is a selector the pattern provides values for.
func (p *Pattern) defines(sel string) bool {
	for _, s := range p.sels {
		if s == sel {
			return true
		}
	}
	if p.kind == kindSpace {
		if n, ok := positional(sel); ok && n <= p.space.positions() {
			return true
		}
	}
	return false
}

// Match reports whether message matches the pattern and, for structured
// patterns, the values the pattern's selectors took. For term patterns
// Fields is empty and Match does not allocate.
func (p *Pattern) Match(message string) (Fields, bool) {
	switch p.kind {
	case kindAll:
		return Fields{}, true
	case kindTerms:
		return Fields{}, p.terms.match(message)
	case kindSpace:
		spans, ok := p.space.match(message)
		if !ok {
			return Fields{}, false
		}
		return Fields{p: p, msg: message, spans: spans}, true
	default:
		doc, ok := decodeJSON(message)
		if !ok {
			return Fields{}, false
		}
		if !p.json.eval(doc) {
			return Fields{}, false
		}
		return Fields{p: p, msg: message, doc: doc}, true
	}
}

// Fields are the values a matched event gave the pattern's selectors.
type Fields struct {
	p     *Pattern
	msg   string
	spans []span // space-delimited: the message span of each pattern field
	doc   any    // JSON: the decoded event
}

// Get returns the value a selector took: "$name" or "$N" (1-based position
// among the pattern's non-ellipsis fields) for space-delimited patterns,
// "$.a.b[0].c" for JSON patterns. JSON strings are returned unquoted, other
// JSON values as compact JSON text.
func (f Fields) Get(selector string) (string, bool) {
	if f.p == nil {
		return "", false
	}
	switch f.p.kind {
	case kindSpace:
		i := f.p.space.index(selector)
		if i < 0 || i >= len(f.spans) || f.spans[i].start < 0 {
			return "", false
		}
		return f.msg[f.spans[i].start:f.spans[i].end], true
	case kindJSON:
		path, err := parseSelector(selector)
		if err != nil {
			return "", false
		}
		v, ok := lookup(f.doc, path)
		if !ok {
			return "", false
		}
		return jsonText(v), true
	}
	return "", false
}

// ExtractedValues returns what TestMetricFilter reports for a matched event:
// each selector the pattern names ("$name" or "$.a.b") with its value.
// Selectors that found no value are left out. It is nil for term patterns.
func (f Fields) ExtractedValues() map[string]string {
	if f.p == nil || len(f.p.sels) == 0 {
		return nil
	}
	out := make(map[string]string, len(f.p.sels))
	for _, s := range f.p.sels {
		if v, ok := f.Get(s); ok {
			out[s] = v
		}
	}
	return out
}
