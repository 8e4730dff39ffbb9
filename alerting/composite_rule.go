package alerting

import (
	"fmt"
	"slices"
	"strings"
)

// ruleNode is one node of a parsed AlarmRule.
type ruleNode struct {
	op    string // "AND", "OR", "NOT", "TRUE", "FALSE", or a state function: "ALARM", "OK", "INSUFFICIENT_DATA"
	alarm string // the alarm a state function names
	args  []*ruleNode
}

// eval returns the rule's value given the children's states.
func (n *ruleNode) eval(state func(name string) string) bool {
	switch n.op {
	case "TRUE":
		return true
	case "FALSE":
		return false
	case "NOT":
		return !n.args[0].eval(state)
	case "AND":
		return n.args[0].eval(state) && n.args[1].eval(state)
	case "OR":
		return n.args[0].eval(state) || n.args[1].eval(state)
	}
	return state(n.alarm) == n.op
}

// children returns the alarms the rule names, in order of first mention.
func (n *ruleNode) children() []string {
	var out []string
	var walk func(*ruleNode)
	walk = func(n *ruleNode) {
		if n.alarm != "" && !slices.Contains(out, n.alarm) {
			out = append(out, n.alarm)
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(n)
	return out
}

// ruleError is a syntax error in an AlarmRule.
type ruleError struct {
	pos int
	msg string
}

func (e *ruleError) Error() string { return fmt.Sprintf("%s at position %d", e.msg, e.pos+1) }

// parseRule parses an AlarmRule. Precedence is AWS's: NOT binds tighter
// than AND, AND tighter than OR; keywords are case-sensitive.
func parseRule(s string) (*ruleNode, error) {
	p := &ruleParser{s: s}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, &ruleError{p.i, fmt.Sprintf("unexpected %q", p.word())}
	}
	return n, nil
}

type ruleParser struct {
	s string
	i int
}

func (p *ruleParser) space() {
	for p.i < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.i])) {
		p.i++
	}
}

// word returns the token at the cursor without consuming it: an identifier
// or one punctuation character ("" at the end).
func (p *ruleParser) word() string {
	p.space()
	j := p.i
	for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'A' && p.s[j] <= 'Z' || p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	if j == p.i && j < len(p.s) {
		j++
	}
	return p.s[p.i:j]
}

func (p *ruleParser) accept(w string) bool {
	if p.word() == w {
		p.i += len(w)
		return true
	}
	return false
}

func (p *ruleParser) or() (*ruleNode, error) {
	l, err := p.and()
	for err == nil && p.accept("OR") {
		var r *ruleNode
		if r, err = p.and(); err == nil {
			l = &ruleNode{op: "OR", args: []*ruleNode{l, r}}
		}
	}
	return l, err
}

func (p *ruleParser) and() (*ruleNode, error) {
	l, err := p.not()
	for err == nil && p.accept("AND") {
		var r *ruleNode
		if r, err = p.not(); err == nil {
			l = &ruleNode{op: "AND", args: []*ruleNode{l, r}}
		}
	}
	return l, err
}

func (p *ruleParser) not() (*ruleNode, error) {
	if p.accept("NOT") {
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return &ruleNode{op: "NOT", args: []*ruleNode{n}}, nil
	}
	return p.primary()
}

func (p *ruleParser) primary() (*ruleNode, error) {
	w := p.word()
	switch w {
	case "":
		return nil, &ruleError{p.i, "unexpected end of rule"}
	case "(":
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			return nil, &ruleError{p.i, "missing closing parenthesis"}
		}
		return n, nil
	case "TRUE", "FALSE":
		p.i += len(w)
		return &ruleNode{op: w}, nil
	case StateAlarm, StateOK, StateInsufficientData:
		p.i += len(w)
		if !p.accept("(") {
			return nil, &ruleError{p.i, "expected ( after " + w}
		}
		name, err := p.alarmName()
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			return nil, &ruleError{p.i, "expected ) after the alarm name"}
		}
		return &ruleNode{op: w, alarm: name}, nil
	}
	return nil, &ruleError{p.i, fmt.Sprintf("unexpected %q; expected ALARM(), OK(), INSUFFICIENT_DATA(), TRUE, FALSE, NOT or (", w)}
}

// alarmName reads a quoted ("name", with \" and \\ escapes) or bare name.
func (p *ruleParser) alarmName() (string, error) {
	p.space()
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			switch c := p.s[p.i]; {
			case c == '\\' && p.i+1 < len(p.s):
				p.i++
				b.WriteByte(p.s[p.i])
			case c == '"':
				p.i++
				if b.Len() == 0 {
					return "", &ruleError{start, "empty alarm name"}
				}
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", &ruleError{start, "unterminated alarm name"}
	}
	for p.i < len(p.s) && p.s[p.i] != ')' && p.s[p.i] != '(' {
		p.i++
	}
	name := strings.TrimSpace(p.s[start:p.i])
	if name == "" {
		return "", &ruleError{start, "missing alarm name"}
	}
	return name, nil
}
