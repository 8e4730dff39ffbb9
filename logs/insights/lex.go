package insights

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of one lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuoted   // a `backtick` field name
	tString   // "…" or '…', unescaped
	tNumber   // 12, 1.5, 2e3
	tDuration // 5m, 1h, 30s, 100ms
	tRegex    // /…/, text without the slashes
	tOp       // punctuation and operators
)

// token is one lexical token; pos and end are byte offsets in the query.
type token struct {
	kind     tokKind
	text     string // identifier, unescaped string, regex body or operator
	pos, end int
}

// maxTokenEcho is the most characters of a token an error repeats.
const maxTokenEcho = 20

// echo is the token as an error quotes it: at most maxTokenEcho characters.
func (t token) echo(q string) string {
	if t.kind == tEOF {
		return "<EOF>"
	}
	s := q[t.pos:t.end]
	if utf8.RuneCountInString(s) > maxTokenEcho {
		r := []rune(s)
		s = string(r[:maxTokenEcho]) + "…"
	}
	return s
}

// lexer turns a query into tokens. prevValue tells a regex literal from a
// division: after a value (name, number, string, closing bracket) "/" divides.
type lexer struct {
	q         string
	i         int
	prevValue bool
}

func isIdentStart(r rune) bool {
	return r == '_' || r == '@' || unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return r == '_' || r == '@' || r == '.' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// durationUnits are the time units a number may carry (bin, datefloor…).
var durationUnits = []string{"ms", "mo", "s", "m", "h", "d", "w", "q", "y"}

// next returns the next token or a *Error for an unterminated literal or
// a character the language has no use for.
func (l *lexer) next() (token, error) {
	for l.i < len(l.q) {
		c := l.q[l.i]
		switch c {
		case ' ', '\t', '\n', '\r':
			l.i++
		case '#':
			for l.i < len(l.q) && l.q[l.i] != '\n' {
				l.i++
			}
		default:
			goto tok
		}
	}
	return token{kind: tEOF, pos: len(l.q), end: len(l.q)}, nil
tok:
	start := l.i
	c := l.q[l.i]
	r, size := utf8.DecodeRuneInString(l.q[l.i:])
	var t token
	switch {
	case c == '"' || c == '\'':
		s, end, ok := unquote(l.q, l.i)
		if !ok {
			return token{}, errAt(l.q, start, len(l.q), "token recognition error at: '%s'", echoText(l.q[start:]))
		}
		t = token{kind: tString, text: s, pos: start, end: end}
	case c == '`':
		j := strings.IndexByte(l.q[l.i+1:], '`')
		if j < 0 {
			return token{}, errAt(l.q, start, len(l.q), "token recognition error at: '%s'", echoText(l.q[start:]))
		}
		t = token{kind: tQuoted, text: l.q[l.i+1 : l.i+1+j], pos: start, end: l.i + 2 + j}
	case c == '/' && !l.prevValue:
		j := l.i + 1
		for j < len(l.q) && l.q[j] != '/' {
			if l.q[j] == '\\' && j+1 < len(l.q) {
				j++
			}
			j++
		}
		if j >= len(l.q) {
			return token{}, errAt(l.q, start, len(l.q), "token recognition error at: '%s'", echoText(l.q[start:]))
		}
		t = token{kind: tRegex, text: strings.ReplaceAll(l.q[l.i+1:j], `\/`, `/`), pos: start, end: j + 1}
	case c >= '0' && c <= '9' || c == '.' && l.i+1 < len(l.q) && l.q[l.i+1] >= '0' && l.q[l.i+1] <= '9':
		t = l.number(start)
	case isIdentStart(r):
		j := l.i + size
		for j < len(l.q) {
			r2, s2 := utf8.DecodeRuneInString(l.q[j:])
			if !isIdentPart(r2) {
				break
			}
			j += s2
		}
		t = token{kind: tIdent, text: l.q[start:j], pos: start, end: j}
	default:
		op := ""
		for _, o := range []string{"!=", "<=", ">=", "=~", "==", "|", ",", "(", ")", "[", "]", "=", "<", ">", "+", "-", "*", "/", "%", "^", "!"} {
			if strings.HasPrefix(l.q[l.i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return token{}, errAt(l.q, start, start+size, "token recognition error at: '%s'", l.q[start:start+size])
		}
		t = token{kind: tOp, text: op, pos: start, end: start + len(op)}
	}
	l.i = t.end
	l.prevValue = t.kind != tOp || t.text == ")" || t.text == "]"
	return t, nil
}

// number lexes a number, and a duration when a time unit follows it.
func (l *lexer) number(start int) token {
	j := start
	for j < len(l.q) && (l.q[j] >= '0' && l.q[j] <= '9' || l.q[j] == '.') {
		j++
	}
	if j < len(l.q) && (l.q[j] == 'e' || l.q[j] == 'E') {
		k := j + 1
		if k < len(l.q) && (l.q[k] == '+' || l.q[k] == '-') {
			k++
		}
		if k < len(l.q) && l.q[k] >= '0' && l.q[k] <= '9' {
			for k < len(l.q) && l.q[k] >= '0' && l.q[k] <= '9' {
				k++
			}
			return token{kind: tNumber, text: l.q[start:k], pos: start, end: k}
		}
	}
	for _, u := range durationUnits {
		if strings.HasPrefix(l.q[j:], u) {
			k := j + len(u)
			if k < len(l.q) {
				r, _ := utf8.DecodeRuneInString(l.q[k:])
				if isIdentPart(r) {
					continue
				}
			}
			return token{kind: tDuration, text: l.q[start:k], pos: start, end: k}
		}
	}
	return token{kind: tNumber, text: l.q[start:j], pos: start, end: j}
}

// unquote reads the string literal at q[i] (quote character q[i]); a
// backslash escapes the next character (\n, \t and \r are control
// characters). It returns the text, the offset after the closing quote
// and whether the literal was closed.
func unquote(q string, i int) (string, int, bool) {
	quote := q[i]
	var b strings.Builder
	for j := i + 1; j < len(q); j++ {
		c := q[j]
		switch {
		case c == quote:
			return b.String(), j + 1, true
		case c == '\\' && j+1 < len(q):
			j++
			switch q[j] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(q[j])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", len(q), false
}

// echoText shortens s to the prefix an error may repeat.
func echoText(s string) string {
	return token{kind: tString, pos: 0, end: len(s)}.echo(s)
}
