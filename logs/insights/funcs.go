package insights

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// function is a scalar function. f takes evaluated arguments; raw, when
// set, takes them unevaluated (bin and the date functions read a period).
type function struct {
	name             string
	minArgs, maxArgs int // maxArgs -1: any number
	f                func(args []value) value
	raw              func(r *record, args []expr) value
	check            func(args []expr) string // a parse-time check, "" when fine
}

func (f *function) arity() string {
	switch {
	case f.minArgs == f.maxArgs:
		return strconv.Itoa(f.minArgs) + " argument(s)"
	case f.maxArgs < 0:
		return "at least " + strconv.Itoa(f.minArgs) + " argument(s)"
	}
	return strconv.Itoa(f.minArgs) + " to " + strconv.Itoa(f.maxArgs) + " arguments"
}

// functions are the scalar functions by lower-case name.
var functions = map[string]*function{}

func init() {
	add := func(fn *function) { functions[strings.ToLower(fn.name)] = fn }
	num1 := func(name string, g func(float64) float64) {
		add(&function{name: name, minArgs: 1, maxArgs: 1, f: func(a []value) value {
			x, ok := a[0].number()
			if !ok {
				return null
			}
			return num(g(x))
		}})
	}
	num1("abs", math.Abs)
	num1("ceil", math.Ceil)
	num1("floor", math.Floor)
	num1("log", math.Log)
	num1("sqrt", math.Sqrt)
	num1("round", math.Round)
	add(&function{name: "greatest", minArgs: 1, maxArgs: -1, f: func(a []value) value { return extreme(a, 1) }})
	add(&function{name: "least", minArgs: 1, maxArgs: -1, f: func(a []value) value { return extreme(a, -1) }})

	str1 := func(name string, g func(string) value) {
		add(&function{name: name, minArgs: 1, maxArgs: 1, f: func(a []value) value {
			if !a[0].present() {
				return null
			}
			return g(a[0].text())
		}})
	}
	str1("strlen", func(s string) value { return num(float64(utf8.RuneCountInString(s))) })
	str1("toupper", func(s string) value { return str(strings.ToUpper(s)) })
	str1("tolower", func(s string) value { return str(strings.ToLower(s)) })
	add(&function{name: "isempty", minArgs: 1, maxArgs: 1, f: func(a []value) value {
		return boolean(!a[0].present() || a[0].text() == "")
	}})
	add(&function{name: "isblank", minArgs: 1, maxArgs: 1, f: func(a []value) value {
		return boolean(!a[0].present() || strings.TrimSpace(a[0].text()) == "")
	}})
	add(&function{name: "concat", minArgs: 1, maxArgs: -1, f: func(a []value) value {
		var b strings.Builder
		for _, v := range a {
			b.WriteString(v.text())
		}
		return str(b.String())
	}})
	trim := func(name string, cut func(string, string) string, space func(string) string) {
		add(&function{name: name, minArgs: 1, maxArgs: 2, f: func(a []value) value {
			if !a[0].present() {
				return null
			}
			if len(a) == 2 {
				return str(cut(a[0].text(), a[1].text()))
			}
			return str(space(a[0].text()))
		}})
	}
	trim("trim", strings.Trim, strings.TrimSpace)
	trim("ltrim", strings.TrimLeft, func(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) })
	trim("rtrim", strings.TrimRight, func(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) })
	add(&function{name: "substr", minArgs: 2, maxArgs: 3, f: substr})
	add(&function{name: "replace", minArgs: 3, maxArgs: 3, f: func(a []value) value {
		if !a[0].present() {
			return null
		}
		return str(strings.ReplaceAll(a[0].text(), a[1].text(), a[2].text()))
	}})
	add(&function{name: "strcontains", minArgs: 2, maxArgs: 2, f: func(a []value) value {
		if !a[0].present() {
			return null
		}
		return boolean(strings.Contains(a[0].text(), a[1].text()))
	}})

	add(&function{name: "ispresent", minArgs: 1, maxArgs: 1, f: func(a []value) value { return boolean(a[0].present()) }})
	add(&function{name: "coalesce", minArgs: 1, maxArgs: -1, f: func(a []value) value {
		for _, v := range a {
			if v.present() {
				return v
			}
		}
		return null
	}})
	add(&function{name: "if", minArgs: 2, maxArgs: 3, raw: func(r *record, a []expr) value {
		if a[0].eval(r).truth() {
			return a[1].eval(r)
		}
		if len(a) == 3 {
			return a[2].eval(r)
		}
		return null
	}})

	add(&function{name: "bin", minArgs: 1, maxArgs: 1, check: periodArg(0), raw: func(r *record, a []expr) value {
		return floorTime(r.get("@timestamp", sysTimestamp), a[0].(*durationLit), false)
	}})
	add(&function{name: "datefloor", minArgs: 2, maxArgs: 2, check: periodArg(1), raw: func(r *record, a []expr) value {
		return floorTime(a[0].eval(r), a[1].(*durationLit), false)
	}})
	add(&function{name: "dateceil", minArgs: 2, maxArgs: 2, check: periodArg(1), raw: func(r *record, a []expr) value {
		return floorTime(a[0].eval(r), a[1].(*durationLit), true)
	}})
	add(&function{name: "fromMillis", minArgs: 1, maxArgs: 1, f: func(a []value) value {
		n, ok := a[0].number()
		if !ok {
			return null
		}
		return tm(n)
	}})
	add(&function{name: "toMillis", minArgs: 1, maxArgs: 1, f: func(a []value) value {
		if a[0].k == kTime {
			return num(a[0].n)
		}
		if a[0].k == kStr {
			if t, err := time.Parse(timeLayout, a[0].s); err == nil {
				return num(float64(t.UnixMilli()))
			}
		}
		return null
	}})

	ip := func(name string, ok func(netip.Addr) bool) {
		add(&function{name: name, minArgs: 1, maxArgs: 1, f: func(a []value) value {
			addr, err := netip.ParseAddr(a[0].text())
			return boolean(err == nil && ok(addr))
		}})
	}
	ip("isValidIp", func(netip.Addr) bool { return true })
	ip("isValidIpV4", netip.Addr.Is4)
	ip("isValidIpV6", func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() })
	subnet := func(name string, ok func(netip.Addr) bool) {
		add(&function{name: name, minArgs: 2, maxArgs: 2, f: func(a []value) value {
			addr, err := netip.ParseAddr(a[0].text())
			if err != nil || !ok(addr) {
				return boolean(false)
			}
			pfx, err := netip.ParsePrefix(a[1].text())
			return boolean(err == nil && pfx.Contains(addr))
		}})
	}
	subnet("isIpInSubnet", func(netip.Addr) bool { return true })
	subnet("isIpv4InSubnet", netip.Addr.Is4)
	subnet("isIpv6InSubnet", netip.Addr.Is6)
}

// extreme is greatest (sign 1) or least (-1) of the present arguments.
func extreme(a []value, sign int) value {
	best := null
	for _, v := range a {
		if v.present() && (!best.present() || compare(v, best)*sign > 0) {
			best = v
		}
	}
	return best
}

// substr is substr(s, start[, length]) over code points, start 0-based.
func substr(a []value) value {
	if !a[0].present() {
		return null
	}
	r := []rune(a[0].text())
	start, ok := a[1].number()
	if !ok {
		return null
	}
	i := clampIndex(start, len(r))
	j := len(r)
	if len(a) == 3 {
		n, ok := a[2].number()
		if !ok {
			return null
		}
		j = clampIndex(float64(i)+n, len(r))
	}
	if j < i {
		return str("")
	}
	return str(string(r[i:j]))
}

func clampIndex(f float64, n int) int {
	switch {
	case f < 0 || math.IsNaN(f):
		return 0
	case f > float64(n):
		return n
	}
	return int(f)
}

// periodArg checks that argument i is a literal period such as 5m.
func periodArg(i int) func([]expr) string {
	return func(args []expr) string {
		if _, ok := args[i].(*durationLit); !ok {
			return "argument " + strconv.Itoa(i+1) + " must be a time period such as 5m"
		}
		return ""
	}
}

// floorTime rounds a time down (or up when ceil) to a multiple of the
// period: fixed periods from the unix epoch, months from January 1970
// (UTC).
func floorTime(v value, d *durationLit, ceil bool) value {
	ms, ok := v.number()
	if !ok {
		return null
	}
	if d.months == 0 {
		f := math.Floor(ms/d.ms) * d.ms
		if ceil && f < ms {
			f += d.ms
		}
		return tm(f)
	}
	t := time.UnixMilli(int64(ms)).UTC()
	m := (t.Year()-1970)*12 + int(t.Month()) - 1
	fm := m - ((m%d.months)+d.months)%d.months
	start := time.Date(1970+fm/12, time.Month(fm%12+1), 1, 0, 0, 0, 0, time.UTC)
	if fm < 0 {
		y := 1970 + (fm-11)/12
		start = time.Date(y, time.Month(fm-(y-1970)*12+1), 1, 0, 0, 0, 0, time.UTC)
	}
	if ceil && start.UnixMilli() < int64(ms) {
		start = start.AddDate(0, d.months, 0)
	}
	return tm(float64(start.UnixMilli()))
}
