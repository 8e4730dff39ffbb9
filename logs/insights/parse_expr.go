package insights

import (
	"strconv"
	"strings"
)

// Expression grammar, loosest first:
//
//	or      := and {or and}
//	and     := not {and not}
//	not     := not not | cmp
//	cmp     := add [(= | != | < | <= | > | >=) add | =~ /re/ | [not] like (str | /re/) | [not] in [list]]
//	add     := mul {(+ | -) mul}
//	mul     := unary {(* | / | %) unary}
//	unary   := - unary | pow
//	pow     := primary [^ unary]
//	primary := number | duration | string | field | func ( args ) | ( or )

func (p *parser) expr() expr {
	if p.err != nil {
		return nil
	}
	e := p.or()
	if p.err != nil {
		return nil
	}
	return e
}

func (p *parser) or() expr {
	a := p.and()
	for p.err == nil && p.isWord("or") {
		p.advance()
		a = &logicExpr{a: a, b: p.and()}
	}
	return a
}

func (p *parser) and() expr {
	a := p.not()
	for p.err == nil && p.isWord("and") {
		p.advance()
		a = &logicExpr{and: true, a: a, b: p.not()}
	}
	return a
}

func (p *parser) not() expr {
	if p.isWord("not") || p.isOp("!") {
		p.advance()
		return &unaryExpr{op: "not", x: p.not()}
	}
	return p.cmp()
}

func (p *parser) cmp() expr {
	a := p.additive()
	if p.err != nil {
		return nil
	}
	neg := false
	if p.isWord("not") {
		p.advance()
		neg = true
		if !p.isWord("like") && !p.isWord("in") {
			p.fail("mismatched input '%s' expecting {K_LIKE, K_IN}", p.tok.echo(p.q))
			return nil
		}
	}
	switch {
	case p.tok.kind == tOp && (p.tok.text == "=" || p.tok.text == "==" || p.tok.text == "!=" ||
		p.tok.text == "<" || p.tok.text == "<=" || p.tok.text == ">" || p.tok.text == ">="):
		op := p.tok.text
		if op == "==" {
			op = "="
		}
		p.advance()
		return &binaryExpr{op: op, a: a, b: p.additive()}
	case p.isOp("=~"):
		p.lex.prevValue = false
		p.advance()
		return p.likeTail(a, false, true)
	case p.isWord("like"):
		p.lex.prevValue = false // a regex may follow
		p.advance()
		return p.likeTail(a, neg, false)
	case p.isWord("in"):
		p.advance()
		return p.inTail(a, neg)
	}
	return a
}

// likeTail parses the pattern of like / =~.
func (p *parser) likeTail(x expr, neg, regexOnly bool) expr {
	switch {
	case p.tok.kind == tRegex:
		re, err := compileRegex(p.tok.text)
		if err != nil {
			p.fail("%s", err.Error())
			return nil
		}
		p.advance()
		return &likeExpr{x: x, re: re, neg: neg}
	case p.tok.kind == tString && !regexOnly:
		s := p.tok.text
		p.advance()
		return &likeExpr{x: x, sub: s, neg: neg}
	case p.tok.kind == tString:
		re, err := compileRegex(p.tok.text)
		if err != nil {
			p.fail("%s", err.Error())
			return nil
		}
		p.advance()
		return &likeExpr{x: x, re: re, neg: neg}
	}
	p.fail("mismatched input '%s' expecting {STRING, REGEX}", p.tok.echo(p.q))
	return nil
}

// inTail parses [a, b, …].
func (p *parser) inTail(x expr, neg bool) expr {
	p.expectOp("[")
	e := &inExpr{x: x, neg: neg}
	for p.err == nil && !p.isOp("]") {
		e.list = append(e.list, p.additive())
		if !p.isOp(",") {
			break
		}
		p.advance()
	}
	p.expectOp("]")
	return e
}

func (p *parser) additive() expr {
	a := p.mul()
	for p.err == nil && (p.isOp("+") || p.isOp("-")) {
		op := p.tok.text
		p.advance()
		a = &binaryExpr{op: op, a: a, b: p.mul()}
	}
	return a
}

func (p *parser) mul() expr {
	a := p.unary()
	for p.err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("%")) {
		op := p.tok.text
		p.advance()
		a = &binaryExpr{op: op, a: a, b: p.unary()}
	}
	return a
}

func (p *parser) unary() expr {
	if p.isOp("-") {
		p.advance()
		return &unaryExpr{op: "-", x: p.unary()}
	}
	if p.isOp("+") {
		p.advance()
		return p.unary()
	}
	return p.pow()
}

func (p *parser) pow() expr {
	a := p.primary()
	if p.err == nil && p.isOp("^") {
		p.advance()
		return &binaryExpr{op: "^", a: a, b: p.unary()}
	}
	return a
}

func (p *parser) primary() expr {
	if p.err != nil {
		return nil
	}
	t := p.tok
	switch t.kind {
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			p.fail("invalid number '%s'", t.echo(p.q))
			return nil
		}
		p.advance()
		return &lit{v: num(f)}
	case tDuration:
		d, ok := parseDuration(t.text)
		if !ok {
			p.fail("invalid time period '%s'", t.echo(p.q))
			return nil
		}
		p.advance()
		return d
	case tString:
		p.advance()
		return &lit{v: str(t.text)}
	case tQuoted:
		p.advance()
		return p.field(t)
	case tIdent:
		p.advance()
		if p.isOp("(") {
			return p.call(t)
		}
		if isKeyword(t.text) {
			p.err = errAt(p.q, t.pos, t.end, "mismatched input '%s' expecting an expression", t.echo(p.q))
			return nil
		}
		return p.field(t)
	case tOp:
		if t.text == "(" {
			p.advance()
			e := p.or()
			p.expectOp(")")
			return e
		}
	}
	p.fail("mismatched input '%s' expecting an expression", t.echo(p.q))
	return nil
}

// keywords may not be bare field names (backticks make them names).
var keywords = []string{"and", "or", "not", "like", "in", "as", "by", "asc", "desc"}

func isKeyword(s string) bool {
	for _, k := range keywords {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// field is a reference to the field token t names.
func (p *parser) field(t token) expr {
	name := t.text
	f := &fieldRef{name: name, sys: sysFieldOf(name), pos: t.pos, end: t.end}
	if f.sys == sysNone {
		p.q2.needJSON = true
	}
	p.q2.fields = appendUnique(p.q2.fields, name)
	return f
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// call parses the arguments of a function call; name is the token before (.
func (p *parser) call(name token) expr {
	p.advance() // (
	lname := strings.ToLower(name.text)
	if agg, ok := aggFuncs[lname]; ok {
		return p.aggCall(name, agg)
	}
	fn := functions[lname]
	if fn == nil {
		p.err = errAt(p.q, name.pos, name.end, "unknown function '%s'", name.echo(p.q))
		return nil
	}
	var args []expr
	for p.err == nil && !p.isOp(")") {
		args = append(args, p.or())
		if !p.isOp(",") {
			break
		}
		p.advance()
	}
	p.expectOp(")")
	if p.err != nil {
		return nil
	}
	if len(args) < fn.minArgs || fn.maxArgs >= 0 && len(args) > fn.maxArgs {
		p.err = errAt(p.q, name.pos, p.lastEnd(), "function %s takes %s, got %d", fn.name, fn.arity(), len(args))
		return nil
	}
	if fn.check != nil {
		if msg := fn.check(args); msg != "" {
			p.err = errAt(p.q, name.pos, p.lastEnd(), "function %s: %s", fn.name, msg)
			return nil
		}
	}
	return &callExpr{fn: fn, args: args}
}

// aggFuncs are the stats functions, by lower-case name, giving the
// canonical name.
var aggFuncs = map[string]string{
	"count": "count", "count_distinct": "count_distinct", "sum": "sum", "avg": "avg",
	"min": "min", "max": "max", "pct": "pct", "percentile": "pct", "stddev": "stddev",
	"earliest": "earliest", "latest": "latest", "sortsfirst": "sortsFirst", "sortslast": "sortsLast",
}

// aggCall parses the arguments of an aggregate; only a stats command may
// hold one.
func (p *parser) aggCall(name token, fn string) expr {
	st := p.inAggs
	if st == nil {
		return p.statsColumn(name, fn)
	}
	spec := &aggSpec{fn: fn}
	switch {
	case fn == "count" && (p.isOp("*") || p.isOp(")")):
		if p.isOp("*") {
			p.advance()
		}
	default:
		p.inAggs = nil // no aggregate inside an aggregate
		spec.arg = p.or()
		p.inAggs = st
		if fn == "pct" {
			p.expectOp(",")
			if p.err != nil {
				return nil
			}
			pct, ok := p.constNumber()
			if !ok || pct < 0 || pct > 100 {
				p.fail("pct takes a percentile from 0 to 100")
				return nil
			}
			spec.pct = pct
		}
	}
	p.expectOp(")")
	if p.err != nil {
		return nil
	}
	spec.text = p.q[name.pos:p.lastEnd()]
	st.aggs = append(st.aggs, spec)
	return &aggRef{i: len(st.aggs) - 1}
}

// statsColumn parses an aggregate call outside stats: after a stats command
// whose output has a column of exactly that text (sort count(*) desc), it
// reads that column; otherwise it is an error.
func (p *parser) statsColumn(name token, fn string) expr {
	if len(p.stats) > 0 {
		p.inAggs = &statsCmd{}
		p.aggCall(name, fn)
		p.inAggs = nil
		if p.err != nil {
			return nil
		}
		text := p.q[name.pos:p.lastEnd()]
		for _, col := range p.stats[len(p.stats)-1].columns() {
			if col == text {
				return &fieldRef{name: text, pos: name.pos, end: p.lastEnd()}
			}
		}
	}
	p.err = errAt(p.q, name.pos, name.end, "aggregate function '%s' is allowed only in stats", name.echo(p.q))
	return nil
}

// constNumber reads a numeric literal.
func (p *parser) constNumber() (float64, bool) {
	if p.tok.kind != tNumber {
		return 0, false
	}
	f, err := strconv.ParseFloat(p.tok.text, 64)
	p.advance()
	return f, err == nil
}

// parseDuration reads 5m, 1h, 100ms, 2mo, 1q, 1y.
func parseDuration(s string) (*durationLit, bool) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n <= 0 {
		return nil, false
	}
	unit := map[string]float64{"ms": 1, "s": 1e3, "m": 60e3, "h": 3600e3, "d": 86400e3, "w": 7 * 86400e3}
	switch u := s[i:]; u {
	case "mo", "q", "y":
		if n != float64(int(n)) {
			return nil, false
		}
		months := map[string]int{"mo": 1, "q": 3, "y": 12}[u] * int(n)
		return &durationLit{months: months}, true
	default:
		ms, ok := unit[u]
		if !ok {
			return nil, false
		}
		return &durationLit{ms: n * ms}, true
	}
}

// hasAgg tells whether an expression reads an aggregate.
func hasAgg(e expr) bool {
	found := false
	walk(e, func(x expr) {
		if _, ok := x.(*aggRef); ok {
			found = true
		}
	})
	return found
}

// walk calls f for e and every expression inside it.
func walk(e expr, f func(expr)) {
	if e == nil {
		return
	}
	f(e)
	switch x := e.(type) {
	case *unaryExpr:
		walk(x.x, f)
	case *binaryExpr:
		walk(x.a, f)
		walk(x.b, f)
	case *logicExpr:
		walk(x.a, f)
		walk(x.b, f)
	case *likeExpr:
		walk(x.x, f)
	case *inExpr:
		walk(x.x, f)
		for _, y := range x.list {
			walk(y, f)
		}
	case *callExpr:
		for _, y := range x.args {
			walk(y, f)
		}
	}
}
