package pattern

import (
	"regexp"
	"strconv"
	"strings"
)

// op is a comparison operator.
type op uint8

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

func parseOp(s string) op {
	switch s {
	case "!=":
		return opNe
	case "<":
		return opLt
	case "<=":
		return opLe
	case ">":
		return opGt
	case ">=":
		return opGe
	}
	return opEq
}

// operand is the right-hand side of a comparison: a number, or a string
// that may hold '*' wildcards.
type operand struct {
	raw   string
	isNum bool
	num   float64
	str   glob
	re    *regexp.Regexp // a %regex% operand, searched in the subject
}

// matchText applies a text operand to a string.
func (o *operand) matchText(s string) bool {
	if o.re != nil {
		return o.re.MatchString(s)
	}
	return o.str.match(s)
}

// newOperand classifies a value: a bare value that reads as a number is a
// number; anything quoted or holding other characters is a string.
func newOperand(t token) operand {
	if t.kind == tRegex {
		return operand{raw: t.text, re: t.re}
	}
	o := operand{raw: t.text, str: newGlob(t.text)}
	if t.kind == tWord {
		if f, ok := number(t.text); ok {
			o.isNum, o.num = true, f
		}
	}
	return o
}

// comparison is "op operand", checked at parse time: ordering operators
// need a number.
type comparison struct {
	op  op
	val operand
}

func newComparison(l *lexer, opTok, valTok token) (comparison, error) {
	if valTok.kind != tWord && valTok.kind != tStr && valTok.kind != tRegex {
		return comparison{}, l.unexpected(valTok, "a value")
	}
	c := comparison{op: parseOp(opTok.text), val: newOperand(valTok)}
	if c.op != opEq && c.op != opNe && !c.val.isNum {
		return comparison{}, errorf("Invalid filter pattern: %s needs a numeric value at position %d: %s", opTok.text, valTok.pos, quote(valTok.text))
	}
	return c, nil
}

// onNumber compares a numeric subject.
func (c comparison) onNumber(x float64) bool {
	y := c.val.num
	switch c.op {
	case opEq:
		return x == y
	case opNe:
		return x != y
	case opLt:
		return x < y
	case opLe:
		return x <= y
	case opGt:
		return x > y
	}
	return x >= y
}

// onText compares a subject known only as text: numerically when both
// sides are numbers, else as a string (equality operators only).
func (c comparison) onText(s string) bool {
	if c.val.isNum {
		if x, ok := number(s); ok {
			return c.onNumber(x)
		}
		if c.op != opEq && c.op != opNe {
			return false
		}
	}
	eq := c.val.matchText(s)
	if c.op == opNe {
		return !eq
	}
	return eq
}

// number parses a plain decimal number: optional sign, digits, optional
// fraction and exponent. It rejects what strconv also accepts but a log
// field never means as a number (Inf, NaN, hex, underscores).
func number(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// positional reads "$N" (N ≥ 1).
func positional(sel string) (int, bool) {
	if !strings.HasPrefix(sel, "$") || len(sel) < 2 || len(sel) > 5 {
		return 0, false
	}
	n, err := strconv.Atoi(sel[1:])
	if err != nil || n < 1 || sel[1] == '+' || sel[1] == '-' {
		return 0, false
	}
	return n, true
}
