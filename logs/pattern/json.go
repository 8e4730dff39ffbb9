package pattern

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// jsonNode is a node of a parsed JSON pattern.
type jsonNode interface {
	eval(doc any) bool
}

type andNode []jsonNode

func (n andNode) eval(doc any) bool {
	for _, c := range n {
		if !c.eval(doc) {
			return false
		}
	}
	return true
}

type orNode []jsonNode

func (n orNode) eval(doc any) bool {
	for _, c := range n {
		if c.eval(doc) {
			return true
		}
	}
	return false
}

// test is what a condition asks of the selected value.
type test uint8

const (
	testCompare test = iota
	testNull
	testTrue
	testFalse
	testNotExists
	testExists
)

type condNode struct {
	path []step
	test test
	cmp  comparison
}

func (n *condNode) eval(doc any) bool {
	v, ok := lookup(doc, n.path)
	switch n.test {
	case testNotExists:
		return !ok
	case testExists:
		return ok
	}
	if !ok {
		return false
	}
	switch n.test {
	case testNull:
		return v == nil
	case testTrue:
		return v == true
	case testFalse:
		return v == false
	}
	return n.compare(v)
}

// compare applies the comparison to a present JSON value. A number
// operand compares numerically with JSON numbers only. A string operand
// (quoted, or bare with '*') matches a JSON string by its content and a
// JSON number or boolean by its literal text, so { $.status = 5* } matches
// "status": 503. Objects, arrays and null equal no operand. != is the
// negation of = for a present value.
func (n *condNode) compare(v any) bool {
	c := n.cmp
	if c.val.isNum {
		if num, ok := v.(json.Number); ok {
			if x, ok := number(string(num)); ok {
				return c.onNumber(x)
			}
		}
		if c.op != opEq && c.op != opNe {
			return false
		}
		// A bare number against a string: compare as text, so
		// { $.code = 200 } also matches "code": "200".
		if s, ok := v.(string); ok {
			return c.onText(s)
		}
		return c.op == opNe
	}
	var eq bool
	switch x := v.(type) {
	case string:
		eq = c.val.matchText(x)
	case json.Number:
		eq = c.val.matchText(string(x))
	case bool:
		eq = c.val.matchText(strconv.FormatBool(x))
	}
	if c.op == opNe {
		return !eq
	}
	return eq
}

// step is one selector step: an object key or an array index.
type step struct {
	key   string
	index int // -1 for a key
}

// parseSelector reads "$.a.b[0].c" (also "$[0]" and "$.a[0][1]").
func parseSelector(s string) ([]step, error) {
	if !strings.HasPrefix(s, "$") || len(s) < 2 {
		return nil, errorf("Invalid selector: %s", quote(s))
	}
	var path []step
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			if i+1 < len(s) && s[i+1] == '[' {
				i++
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, errorf("Invalid selector: %s", quote(s))
			}
			path = append(path, step{key: s[i+1 : j], index: -1})
			i = j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, errorf("Invalid selector: %s", quote(s))
			}
			if in := s[i+1 : i+j]; len(in) >= 2 && in[0] == '\'' && in[len(in)-1] == '\'' {
				// A quoted key, for names holding dots: $.['cluster.name'].
				path = append(path, step{key: in[1 : len(in)-1], index: -1})
				i += j + 1
				continue
			}
			n, err := strconv.Atoi(s[i+1 : i+j])
			if err != nil || n < 0 || s[i+1] == '+' {
				return nil, errorf("Invalid selector: %s", quote(s))
			}
			path = append(path, step{index: n})
			i += j + 1
		default:
			return nil, errorf("Invalid selector: %s", quote(s))
		}
	}
	return path, nil
}

// lookup walks path through a decoded document.
func lookup(doc any, path []step) (any, bool) {
	v := doc
	for _, st := range path {
		if st.index < 0 {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[st.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := v.([]any)
		if !ok || st.index >= len(a) {
			return nil, false
		}
		v = a[st.index]
	}
	return v, true
}

// decodeJSON decodes a message that is one JSON object and nothing else.
func decodeJSON(msg string) (any, bool) {
	t := strings.TrimSpace(msg)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF { //nolint:errorlint // io.EOF is returned unwrapped by the decoder
		return nil, false
	}
	return v, true
}

// jsonText renders a selected value the way extracted values show it:
// strings as their content, everything else as compact JSON.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// parseJSON parses "{ expr }" and returns the selectors it names.
func parseJSON(s string) (jsonNode, []string, error) {
	jp := &jsonParser{l: lexer{s: s}}
	if err := jp.l.expect("{"); err != nil {
		return nil, nil, err
	}
	n, err := jp.or(0)
	if err != nil {
		return nil, nil, err
	}
	if err := jp.l.expect("}"); err != nil {
		return nil, nil, err
	}
	t, err := jp.l.next()
	if err != nil {
		return nil, nil, err
	}
	if t.kind != tEOF {
		return nil, nil, jp.l.unexpected(t, "end of pattern")
	}
	return n, jp.sels, nil
}

// maxDepth bounds parenthesis nesting so parsing stays shallow.
const maxDepth = 32

type jsonParser struct {
	l    lexer
	sels []string
}

func (p *jsonParser) or(depth int) (jsonNode, error) {
	var alts orNode
	for {
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
		t, err := p.l.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tOr {
			p.l.unread(t)
			break
		}
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (p *jsonParser) and(depth int) (jsonNode, error) {
	var all andNode
	for {
		n, err := p.primary(depth)
		if err != nil {
			return nil, err
		}
		all = append(all, n)
		t, err := p.l.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tAnd {
			p.l.unread(t)
			break
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

func (p *jsonParser) primary(depth int) (jsonNode, error) {
	t, err := p.l.next()
	if err != nil {
		return nil, err
	}
	if t.kind == tPunct && t.text == "(" {
		if depth >= maxDepth {
			return nil, errorf("Invalid filter pattern: parentheses nested too deep")
		}
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.l.expect(")"); err != nil {
			return nil, err
		}
		return n, nil
	}
	if t.kind != tSel {
		return nil, p.l.unexpected(t, "a selector such as $.field")
	}
	path, err := parseSelector(t.text)
	if err != nil {
		return nil, err
	}
	p.addSel(t.text)
	n := &condNode{path: path}
	opTok, err := p.l.next()
	if err != nil {
		return nil, err
	}
	switch {
	case opTok.kind == tOp:
		valTok, err := p.l.next()
		if err != nil {
			return nil, err
		}
		if n.cmp, err = newComparison(&p.l, opTok, valTok); err != nil {
			return nil, err
		}
	case opTok.kind == tWord && strings.EqualFold(opTok.text, "IS"):
		kw, err := p.l.next()
		if err != nil {
			return nil, err
		}
		switch {
		case kw.kind == tWord && strings.EqualFold(kw.text, "NULL"):
			n.test = testNull
		case kw.kind == tWord && strings.EqualFold(kw.text, "TRUE"):
			n.test = testTrue
		case kw.kind == tWord && strings.EqualFold(kw.text, "FALSE"):
			n.test = testFalse
		default:
			return nil, p.l.unexpected(kw, "NULL, TRUE or FALSE")
		}
	case opTok.kind == tWord && strings.EqualFold(opTok.text, "NOT"):
		kw, err := p.l.next()
		if err != nil {
			return nil, err
		}
		if kw.kind != tWord || !strings.EqualFold(kw.text, "EXISTS") {
			return nil, p.l.unexpected(kw, "EXISTS")
		}
		n.test = testNotExists
	case opTok.kind == tWord && strings.EqualFold(opTok.text, "EXISTS"):
		n.test = testExists
	default:
		return nil, p.l.unexpected(opTok, "an operator")
	}
	return n, nil
}

func (p *jsonParser) addSel(s string) {
	for _, x := range p.sels {
		if x == s {
			return
		}
	}
	p.sels = append(p.sels, s)
}
