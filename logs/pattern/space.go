package pattern

import "strings"

// spaceField is one field of a space-delimited pattern: a name and a
// condition in disjunctive form (any group whose comparisons all hold).
type spaceField struct {
	name string
	or   [][]comparison // nil: any value
}

func (f *spaceField) match(v string) bool {
	if f.or == nil {
		return true
	}
	for _, and := range f.or {
		ok := true
		for _, c := range and {
			if !c.onText(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// spaceExpr is a parsed [a, b=1, ..., c] pattern. fields are the
// non-ellipsis fields in order; segs cut them into the runs an ellipsis
// separates, and the anchors say whether the first run must start the
// message and the last run end it.
type spaceExpr struct {
	fields      []spaceField
	segs        [][2]int
	startAnchor bool
	endAnchor   bool
	names       map[string]int
}

func (e *spaceExpr) positions() int { return len(e.fields) }

// index maps "$name" or "$N" to a field index, or -1.
func (e *spaceExpr) index(sel string) int {
	if i, ok := e.names[strings.TrimPrefix(sel, "$")]; ok && strings.HasPrefix(sel, "$") {
		return i
	}
	if n, ok := positional(sel); ok && n <= len(e.fields) {
		return n - 1
	}
	return -1
}

func parseSpace(s string) (*spaceExpr, error) {
	l := &lexer{s: s}
	if err := l.expect("["); err != nil {
		return nil, err
	}
	e := &spaceExpr{names: map[string]int{}, startAnchor: true, endAnchor: true}
	segStart := 0
	for first := true; ; first = false {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tPunct && t.text == "]" && first {
			return nil, errorf("Invalid filter pattern: empty field list")
		}
		if t.kind == tWord && t.text == "..." {
			if len(e.fields) == 0 {
				e.startAnchor = false
			}
			if len(e.fields) > segStart {
				e.segs = append(e.segs, [2]int{segStart, len(e.fields)})
			}
			segStart = len(e.fields)
			e.endAnchor = false
		} else {
			l.unread(t)
			f, err := parseSpaceField(l)
			if err != nil {
				return nil, err
			}
			if _, dup := e.names[f.name]; dup {
				return nil, errorf("Invalid filter pattern: field %s is named twice", quote(f.name))
			}
			e.names[f.name] = len(e.fields)
			e.fields = append(e.fields, f)
			e.endAnchor = true
		}
		t, err = l.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tPunct && t.text == "]" {
			break
		}
		if t.kind != tPunct || t.text != "," {
			return nil, l.unexpected(t, "',' or ']'")
		}
	}
	if len(e.fields) > segStart {
		e.segs = append(e.segs, [2]int{segStart, len(e.fields)})
	}
	if t, err := l.next(); err != nil {
		return nil, err
	} else if t.kind != tEOF {
		return nil, l.unexpected(t, "end of pattern")
	}
	return e, nil
}

// parseSpaceField reads "name" or "name op value" joined by && and ||,
// where every comparison names the same field.
func parseSpaceField(l *lexer) (spaceField, error) {
	var f spaceField
	var and []comparison
	for {
		t, err := l.next()
		if err != nil {
			return f, err
		}
		if t.kind != tWord && t.kind != tSel {
			return f, l.unexpected(t, "a field name")
		}
		name := strings.TrimPrefix(t.text, "$")
		if !isWord(name) || name == "" {
			return f, errorf("Invalid field name: %s", quote(t.text))
		}
		if f.name == "" {
			f.name = name
		} else if name != f.name {
			return f, errorf("Invalid filter pattern: condition on %s inside field %s", quote(name), quote(f.name))
		}
		opTok, err := l.next()
		if err != nil {
			return f, err
		}
		if opTok.kind != tOp {
			if and != nil || f.or != nil {
				return f, l.unexpected(opTok, "an operator")
			}
			l.unread(opTok)
			return f, nil
		}
		valTok, err := l.next()
		if err != nil {
			return f, err
		}
		c, err := newComparison(l, opTok, valTok)
		if err != nil {
			return f, err
		}
		and = append(and, c)
		join, err := l.next()
		if err != nil {
			return f, err
		}
		switch join.kind {
		case tAnd:
		case tOr:
			f.or = append(f.or, and)
			and = nil
		default:
			l.unread(join)
			f.or = append(f.or, and)
			return f, nil
		}
	}
}

// span is a field's value within the message; start is -1 when unset.
type span struct{ start, end int }

// splitFields cuts a message into space-separated fields. A field that
// opens with '"' runs to the next '"', one that opens with '[' to the next
// ']'; the delimiters are not part of the value.
func splitFields(msg string, out []span) []span {
	i := 0
	for {
		for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t') {
			i++
		}
		if i == len(msg) {
			return out
		}
		var closer byte
		switch msg[i] {
		case '"':
			closer = '"'
		case '[':
			closer = ']'
		}
		if closer != 0 {
			if j := strings.IndexByte(msg[i+1:], closer); j >= 0 {
				out = append(out, span{i + 1, i + 1 + j})
				i += j + 2
				continue
			}
		}
		j := i
		for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' {
			j++
		}
		out = append(out, span{i, j})
		i = j
	}
}

// match splits msg and places the pattern's runs of fields on it: the first
// run at the start when anchored, the last at the end when anchored, the
// others leftmost in between. Leftmost placement is enough because an
// ellipsis absorbs any number of fields, so an earlier fit never blocks a
// later one. The work is at most fields × message fields.
func (e *spaceExpr) match(msg string) ([]span, bool) {
	var buf [32]span
	toks := splitFields(msg, buf[:0])
	if len(e.segs) == 0 {
		// Only ellipses, or a lone one: any message matches.
		return nil, true
	}
	if len(e.segs) == 1 && e.startAnchor && e.endAnchor && len(toks) != len(e.fields) {
		return nil, false
	}
	at := make([]int, len(e.segs))
	pos := 0
	for k, sg := range e.segs {
		n := sg[1] - sg[0]
		last := k == len(e.segs)-1
		switch {
		case k == 0 && e.startAnchor:
			if !e.fits(msg, toks, sg, 0) {
				return nil, false
			}
			at[k] = 0
		case last && e.endAnchor:
			i := len(toks) - n
			if i < pos || !e.fits(msg, toks, sg, i) {
				return nil, false
			}
			at[k] = i
		default:
			i := pos
			for ; i+n <= len(toks); i++ {
				if e.fits(msg, toks, sg, i) {
					break
				}
			}
			if i+n > len(toks) {
				return nil, false
			}
			at[k] = i
		}
		pos = at[k] + n
		if last && e.endAnchor && pos != len(toks) {
			return nil, false
		}
	}
	spans := make([]span, len(e.fields))
	for k, sg := range e.segs {
		copy(spans[sg[0]:sg[1]], toks[at[k]:at[k]+sg[1]-sg[0]])
	}
	return spans, true
}

// fits reports whether fields sg[0]:sg[1] match the message fields from i.
func (e *spaceExpr) fits(msg string, toks []span, sg [2]int, i int) bool {
	if i < 0 || i+sg[1]-sg[0] > len(toks) {
		return false
	}
	for j := sg[0]; j < sg[1]; j++ {
		t := toks[i+j-sg[0]]
		if !e.fields[j].match(msg[t.start:t.end]) {
			return false
		}
	}
	return true
}
