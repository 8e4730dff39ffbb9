package insights

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// kind is the type of a value during evaluation.
type kind uint8

const (
	kNull kind = iota // a missing field or an undefined result
	kStr              // text; a numeric text still compares as a number
	kNum              // a number
	kBool             // a truth value (n is 1 or 0)
	kTime             // a time, n in unix milliseconds
)

// value is one evaluated value. It is a small struct, not an interface, so
// evaluating an expression does not allocate.
type value struct {
	k kind
	n float64
	s string
}

var null = value{}

func num(f float64) value { return value{k: kNum, n: f} }
func str(s string) value  { return value{k: kStr, s: s} }
func tm(ms float64) value { return value{k: kTime, n: ms} }
func boolean(b bool) value {
	if b {
		return value{k: kBool, n: 1}
	}
	return value{k: kBool}
}

// number is the value as a number, and whether it is one: a numeric text
// counts, as JSON numbers arrive as text.
func (v value) number() (float64, bool) {
	switch v.k {
	case kNum, kBool, kTime:
		return v.n, true
	case kStr:
		return parseNumber(v.s)
	}
	return 0, false
}

// parseNumber reads a decimal number; it refuses what strconv accepts
// beyond plain decimals ("inf", "0x10", "1_000").
func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// truth is the value as a condition: a missing value, 0, false and "" are
// false.
func (v value) truth() bool {
	switch v.k {
	case kNull:
		return false
	case kStr:
		return v.s != "" && v.s != "false" && v.s != "0"
	}
	return v.n != 0
}

// present tells a value from a missing one.
func (v value) present() bool { return v.k != kNull }

// timeLayout is how results show a time: UTC with milliseconds.
const timeLayout = "2006-01-02 15:04:05.000"

// text is the value as a result shows it.
func (v value) text() string {
	switch v.k {
	case kStr:
		return v.s
	case kNum:
		return formatNumber(v.n)
	case kBool:
		if v.n != 0 {
			return "1"
		}
		return "0"
	case kTime:
		return formatTime(v.n)
	}
	return ""
}

// formatTime shows unix milliseconds as results do.
func formatTime(ms float64) string {
	return time.UnixMilli(int64(ms)).UTC().Format(timeLayout)
}

// formatNumber shows a number without an exponent for everyday sizes and
// without trailing zeros.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatInt(int64(f), 10)
	case math.Abs(f) >= 1e-6 && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// compare orders two present values: numerically when both are numbers,
// by time when either is a time, otherwise as text.
func compare(a, b value) int {
	if an, ok := a.number(); ok {
		if bn, ok := b.number(); ok {
			switch {
			case an < bn:
				return -1
			case an > bn:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a.text(), b.text())
}

// equal is = between two values; a missing value equals nothing.
func equal(a, b value) bool {
	if !a.present() || !b.present() {
		return false
	}
	if a.k == kStr && b.k == kStr {
		return a.s == b.s
	}
	return compare(a, b) == 0
}
