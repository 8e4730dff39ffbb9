package query

import (
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// The metric math syntax (CloudWatch's "Metric math syntax and functions"):
//
//	expr    := and { (OR | ||) and }
//	and     := compare { (AND | &&) compare }
//	compare := add [ (> | < | >= | <= | == | !=) add ]
//	add     := mul { (+ | -) mul }
//	mul     := unary { (* | /) unary }
//	unary   := - unary | power
//	power   := primary [ ^ unary ]            (right associative)
//	primary := number | "string" | id | NAME ( [expr {, expr}] ) | [ expr {, expr} ] | ( expr ) | REPEAT | LINEAR
//
// Ids start with a lowercase letter; function and keyword names are upper case.

// mathNode is a parsed expression.
type mathNode interface{ String() string }

type (
	numNode  struct{ v float64 }
	strNode  struct{ s string }
	refNode  struct{ id string }
	kwNode   struct{ name string } // REPEAT, LINEAR
	listNode struct{ items []mathNode }
	negNode  struct{ x mathNode }
	binNode  struct {
		op   string
		l, r mathNode
	}
	callNode struct {
		name string
		args []mathNode
	}
)

func (n numNode) String() string { return strconv.FormatFloat(n.v, 'g', -1, 64) }
func (n strNode) String() string { return strconv.Quote(n.s) }
func (n refNode) String() string { return n.id }
func (n kwNode) String() string  { return n.name }
func (n negNode) String() string { return "(-" + n.x.String() + ")" }
func (n binNode) String() string { return "(" + n.l.String() + " " + n.op + " " + n.r.String() + ")" }
func (n listNode) String() string {
	return "[" + joinNodes(n.items) + "]"
}
func (n callNode) String() string { return n.name + "(" + joinNodes(n.args) + ")" }

func joinNodes(ns []mathNode) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, ", ")
}

type token struct {
	kind byte // 'n' number, 's' string, 'i' identifier, 'o' operator/punctuation, 0 end
	text string
	num  float64
	pos  int
}

// mathError is the InvalidParameterValue every expression problem answers.
func mathError(format string, args ...any) error {
	return awsapi.InvalidParameterValue(format, args...)
}

func lexMath(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					for j = k; j < len(src) && src[j] >= '0' && src[j] <= '9'; j++ {
					}
				}
			}
			v, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil {
				return nil, mathError("The expression has an invalid number %q at position %d.", src[i:j], i+1)
			}
			toks = append(toks, token{kind: 'n', text: src[i:j], num: v, pos: i})
			i = j
		case isLetter(c):
			j := i
			for j < len(src) && (isLetter(src[j]) || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			toks = append(toks, token{kind: 'i', text: src[i:j], pos: i})
			i = j
		case c == '"' || c == '\'':
			j := i + 1 // a backslash escapes the next character; the text stays raw (SEARCH reads it)
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			if j >= len(src) {
				return nil, mathError("The expression has an unterminated string at position %d.", i+1)
			}
			toks = append(toks, token{kind: 's', text: src[i+1 : j], pos: i})
			i = j + 1
		default:
			op := string(c)
			if i+1 < len(src) {
				if two := src[i : i+2]; two == ">=" || two == "<=" || two == "==" || two == "!=" || two == "&&" || two == "||" {
					op = two
				}
			}
			if !strings.Contains("+-*/^()[],<>", op) && len(op) == 1 {
				return nil, mathError("The expression has an unexpected character %q at position %d.", op, i+1)
			}
			toks = append(toks, token{kind: 'o', text: op, pos: i})
			i += len(op)
		}
	}
	return append(toks, token{pos: len(src)}), nil
}

// isLetter: Ids and names are ASCII letters, digits and underscores.
func isLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

type mathParser struct {
	toks []token
	i    int
}

// parseMath parses one metric math expression.
func parseMath(src string) (mathNode, error) {
	if isInsights(src) {
		return nil, mathError("Metrics Insights queries (SELECT ...) are answered by GetMetricData only; in alarms this server does not support them yet.")
	}
	toks, err := lexMath(src)
	if err != nil {
		return nil, err
	}
	p := &mathParser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 0 {
		return nil, mathError("The expression has an unexpected %q at position %d.", t.text, t.pos+1)
	}
	return n, nil
}

func (p *mathParser) peek() token { return p.toks[p.i] }
func (p *mathParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *mathParser) isOp(ops ...string) (string, bool) {
	t := p.peek()
	if t.kind != 'o' {
		return "", false
	}
	for _, o := range ops {
		if t.text == o {
			p.i++
			return o, true
		}
	}
	return "", false
}

func (p *mathParser) expect(op string) error {
	if _, ok := p.isOp(op); !ok {
		t := p.peek()
		if t.kind == 0 {
			return mathError("The expression ends where %q is expected.", op)
		}
		return mathError("The expression has %q at position %d where %q is expected.", t.text, t.pos+1, op)
	}
	return nil
}

// logic parses one level of AND/OR: word or symbol, left associative.
func (p *mathParser) logic(word, symbol string, operand func() (mathNode, error)) (mathNode, error) {
	l, err := operand()
	for err == nil {
		t := p.peek()
		if (t.kind != 'i' || t.text != word) && (t.kind != 'o' || t.text != symbol) {
			return l, nil
		}
		p.i++
		var r mathNode
		if r, err = operand(); err == nil {
			l = binNode{word, l, r}
		}
	}
	return nil, err
}

func (p *mathParser) expr() (mathNode, error) {
	return p.logic("OR", "||", func() (mathNode, error) { return p.logic("AND", "&&", p.compare) })
}

func (p *mathParser) compare() (mathNode, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	if op, ok := p.isOp(">", "<", ">=", "<=", "==", "!="); ok {
		r, err := p.add()
		if err != nil {
			return nil, err
		}
		return binNode{op, l, r}, nil
	}
	return l, nil
}

func (p *mathParser) add() (mathNode, error) {
	l, err := p.mul()
	for err == nil {
		op, ok := p.isOp("+", "-")
		if !ok {
			return l, nil
		}
		var r mathNode
		if r, err = p.mul(); err == nil {
			l = binNode{op, l, r}
		}
	}
	return nil, err
}

func (p *mathParser) mul() (mathNode, error) {
	l, err := p.unary()
	for err == nil {
		op, ok := p.isOp("*", "/")
		if !ok {
			return l, nil
		}
		var r mathNode
		if r, err = p.unary(); err == nil {
			l = binNode{op, l, r}
		}
	}
	return nil, err
}

func (p *mathParser) unary() (mathNode, error) {
	if _, ok := p.isOp("-"); ok {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if n, ok := x.(numNode); ok {
			return numNode{-n.v}, nil
		}
		return negNode{x}, nil
	}
	return p.power()
}

func (p *mathParser) power() (mathNode, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	if _, ok := p.isOp("^"); ok {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		return binNode{"^", l, r}, nil
	}
	return l, nil
}

func (p *mathParser) primary() (mathNode, error) {
	t := p.next()
	switch t.kind {
	case 'n':
		return numNode{t.num}, nil
	case 's':
		return strNode{t.text}, nil
	case 'i':
		if _, ok := p.isOp("("); ok {
			base := p.peek().pos + 1 // where a SEARCH body starts
			args, err := p.items(")")
			if err != nil {
				return nil, err
			}
			if strings.ToUpper(t.text) == "SEARCH" {
				return parseSearchCall(args, base)
			}
			call := callNode{strings.ToUpper(t.text), args}
			return call, checkCall(call)
		}
		switch {
		case t.text == "REPEAT" || t.text == "LINEAR":
			return kwNode{t.text}, nil
		case idPattern.MatchString(t.text):
			return refNode{t.text}, nil
		}
		return nil, mathError("The expression has %q at position %d, which is neither an Id (starting with a lowercase letter) nor a function call.", t.text, t.pos+1)
	case 'o':
		switch t.text {
		case "(":
			n, err := p.expr()
			if err != nil {
				return nil, err
			}
			return n, p.expect(")")
		case "[":
			items, err := p.items("]")
			if err != nil {
				return nil, err
			}
			if len(items) == 0 {
				return nil, mathError("The expression has an empty list at position %d.", t.pos+1)
			}
			return listNode{items}, nil
		}
		return nil, mathError("The expression has an unexpected %q at position %d.", t.text, t.pos+1)
	}
	return nil, mathError("The expression ends where a value is expected.")
}

// items parses a comma-separated list up to the closing op.
func (p *mathParser) items(closing string) ([]mathNode, error) {
	var out []mathNode
	if _, ok := p.isOp(closing); ok {
		return out, nil
	}
	for {
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if _, ok := p.isOp(","); !ok {
			return out, p.expect(closing)
		}
	}
}

// walkMath calls fn for n and every node below it, parents first.
func walkMath(n mathNode, fn func(mathNode)) {
	fn(n)
	switch n := n.(type) {
	case negNode:
		walkMath(n.x, fn)
	case binNode:
		walkMath(n.l, fn)
		walkMath(n.r, fn)
	case listNode:
		for _, x := range n.items {
			walkMath(x, fn)
		}
	case callNode:
		for _, x := range n.args {
			walkMath(x, fn)
		}
	}
}

// mathRefs returns the Ids an expression names, and whether it calls
// METRICS (which takes every MetricStat query, or those with a prefix).
func mathRefs(n mathNode, fn func(id string), metrics func(prefix string)) {
	walkMath(n, func(x mathNode) {
		switch x := x.(type) {
		case refNode:
			fn(x.id)
		case callNode:
			if x.name != "METRICS" {
				return
			}
			prefix := ""
			if len(x.args) == 1 {
				if s, ok := x.args[0].(strNode); ok {
					prefix = s.s
				}
			}
			metrics(prefix)
		}
	})
}

// searchesOf returns the SEARCH calls of an expression.
func searchesOf(n mathNode) []searchNode {
	var out []searchNode
	walkMath(n, func(x mathNode) {
		if sn, ok := x.(searchNode); ok {
			out = append(out, sn)
		}
	})
	return out
}
