package insights

import (
	"math"
	"strings"
)

func (e *lit) eval(*record) value { return e.v }

func (e *durationLit) eval(*record) value { return num(e.ms) }

func (e *fieldRef) eval(r *record) value { return r.get(e.name, e.sys) }

func (e *aggRef) eval(r *record) value {
	if e.i < len(r.aggs) {
		return r.aggs[e.i]
	}
	return null
}

func (e *unaryExpr) eval(r *record) value {
	v := e.x.eval(r)
	if e.op == "not" {
		return boolean(!v.truth())
	}
	n, ok := v.number()
	if !ok {
		return null
	}
	return num(-n)
}

func (e *logicExpr) eval(r *record) value {
	a := e.a.eval(r).truth()
	if e.and {
		return boolean(a && e.b.eval(r).truth())
	}
	return boolean(a || e.b.eval(r).truth())
}

func (e *likeExpr) eval(r *record) value {
	v := e.x.eval(r)
	if !v.present() {
		return boolean(e.neg)
	}
	s := v.text()
	var m bool
	if e.re != nil {
		m = e.re.MatchString(s)
	} else {
		m = strings.Contains(s, e.sub)
	}
	return boolean(m != e.neg)
}

func (e *inExpr) eval(r *record) value {
	v := e.x.eval(r)
	for _, x := range e.list {
		if equal(v, x.eval(r)) {
			return boolean(!e.neg)
		}
	}
	return boolean(e.neg && v.present())
}

func (e *binaryExpr) eval(r *record) value {
	a, b := e.a.eval(r), e.b.eval(r)
	switch e.op {
	case "=":
		return boolean(equal(a, b))
	case "!=":
		return boolean(a.present() && b.present() && !equal(a, b))
	case "<", "<=", ">", ">=":
		if !a.present() || !b.present() {
			return boolean(false)
		}
		c := compare(a, b)
		switch e.op {
		case "<":
			return boolean(c < 0)
		case "<=":
			return boolean(c <= 0)
		case ">":
			return boolean(c > 0)
		}
		return boolean(c >= 0)
	}
	return arith(e.op, a, b)
}

// arith is + - * / % ^ on numbers; a time plus or minus a number stays a
// time, and anything that is not a number gives no value.
func arith(op string, a, b value) value {
	x, ok1 := a.number()
	y, ok2 := b.number()
	if !ok1 || !ok2 {
		return null
	}
	var f float64
	switch op {
	case "+":
		f = x + y
	case "-":
		f = x - y
	case "*":
		f = x * y
	case "/":
		if y == 0 {
			return null
		}
		f = x / y
	case "%":
		if y == 0 {
			return null
		}
		f = math.Mod(x, y)
	case "^":
		f = math.Pow(x, y)
	default:
		return null
	}
	if (op == "+" || op == "-") && (a.k == kTime) != (b.k == kTime) {
		return tm(f)
	}
	return num(f)
}

func (e *callExpr) eval(r *record) value {
	if e.fn.raw != nil {
		return e.fn.raw(r, e.args)
	}
	base := len(r.stack)
	for _, a := range e.args {
		r.stack = append(r.stack, a.eval(r))
	}
	v := e.fn.f(r.stack[base:])
	r.stack = r.stack[:base]
	return v
}
