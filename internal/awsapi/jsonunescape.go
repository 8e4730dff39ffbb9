package awsapi

import (
	"unicode/utf16"
	"unicode/utf8"
)

// appendEscape decodes the escape at b[p] (a backslash) onto out and
// returns the position after it. It answers as encoding/json does: a lone
// or reversed surrogate becomes U+FFFD. It reports false for an escape JSON
// does not define.
func appendEscape(out, b []byte, p int) ([]byte, int, bool) {
	if p+1 >= len(b) {
		return out, p, false
	}
	switch c := b[p+1]; c {
	case '"', '\\', '/':
		return append(out, c), p + 2, true
	case 'b':
		return append(out, '\b'), p + 2, true
	case 'f':
		return append(out, '\f'), p + 2, true
	case 'n':
		return append(out, '\n'), p + 2, true
	case 'r':
		return append(out, '\r'), p + 2, true
	case 't':
		return append(out, '\t'), p + 2, true
	case 'u':
		r, ok := hex4(b[p+2:])
		if !ok {
			return out, p, false
		}
		p += 6
		if utf16.IsSurrogate(r) {
			if r2, ok2 := lowSurrogate(b[p:]); ok2 {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return utf8.AppendRune(out, dec), p + 6, true
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(out, r), p, true
	}
	return out, p, false
}

// lowSurrogate reads a "\uXXXX" escape at the start of b.
func lowSurrogate(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	return hex4(b[2:])
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
