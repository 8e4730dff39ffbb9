package pattern

import (
	"regexp"
	"strings"
)

// tokKind is a lexical class of the structured (space-delimited and JSON)
// pattern grammars.
type tokKind uint8

const (
	tEOF   tokKind = iota
	tWord          // a bare value, name or keyword
	tStr           // a double-quoted string
	tSel           // a $selector
	tOp            // = != < <= > >=
	tAnd           // &&
	tOr            // ||
	tPunct         // ( ) , [ ] { }
	tRegex         // %regex%
)

type token struct {
	re   *regexp.Regexp // for tRegex
	kind tokKind
	text string // the operator, punctuation, word, selector or unquoted string
	pos  int    // byte offset in the pattern
}

// lexer splits a structured pattern into tokens.
type lexer struct {
	s       string
	i       int
	peek    *token
	regexes int
}

// stops ends a bare word or selector.
const stops = "=!<>&|(),]}{"

func (l *lexer) next() (token, error) {
	if l.peek != nil {
		t := *l.peek
		l.peek = nil
		return t, nil
	}
	for l.i < len(l.s) && isBlank(l.s[l.i]) {
		l.i++
	}
	if l.i == len(l.s) {
		return token{kind: tEOF, pos: l.i}, nil
	}
	start := l.i
	c := l.s[l.i]
	two := ""
	if l.i+1 < len(l.s) {
		two = l.s[l.i : l.i+2]
	}
	switch {
	case two == "&&":
		l.i += 2
		return token{kind: tAnd, text: two, pos: start}, nil
	case two == "||":
		l.i += 2
		return token{kind: tOr, text: two, pos: start}, nil
	case two == "!=" || two == "<=" || two == ">=":
		l.i += 2
		return token{kind: tOp, text: two, pos: start}, nil
	case c == '=' || c == '<' || c == '>':
		l.i++
		return token{kind: tOp, text: l.s[start:l.i], pos: start}, nil
	case strings.IndexByte("(),[]{}", c) >= 0:
		l.i++
		return token{kind: tPunct, text: l.s[start:l.i], pos: start}, nil
	case c == '"':
		v, n, err := readQuoted(l.s[l.i:])
		if err != nil {
			return token{}, err
		}
		l.i += n
		return token{kind: tStr, text: v, pos: start}, nil
	case c == '%':
		re, n, err := readRegex(l.s[l.i:])
		if err != nil {
			return token{}, err
		}
		l.i += n
		if l.regexes++; l.regexes > maxRegexes {
			return token{}, errorf("Invalid filter pattern: at most %d regular expressions are allowed in a pattern", maxRegexes)
		}
		return token{kind: tRegex, text: l.s[start:l.i], re: re, pos: start}, nil
	case c == '$':
		l.i++
		for l.i < len(l.s) {
			c := l.s[l.i]
			if c == '[' {
				// An index: take it whole so "]" does not end the selector.
				j := strings.IndexByte(l.s[l.i:], ']')
				if j < 0 {
					return token{}, errorf("Invalid selector: %s", quote(l.s[start:]))
				}
				l.i += j + 1
				continue
			}
			if isBlank(c) || strings.IndexByte(stops, c) >= 0 {
				break
			}
			l.i++
		}
		return token{kind: tSel, text: l.s[start:l.i], pos: start}, nil
	case c == '&' || c == '|' || c == '!':
		return token{}, errorf("Invalid operator at position %d: %s", start, quote(l.s[start:]))
	}
	for l.i < len(l.s) && !isBlank(l.s[l.i]) && strings.IndexByte(stops, l.s[l.i]) < 0 && l.s[l.i] != '[' {
		l.i++
	}
	return token{kind: tWord, text: l.s[start:l.i], pos: start}, nil
}

func (l *lexer) unread(t token) { l.peek = &t }

// expect reads a punctuation token and fails unless it is text.
func (l *lexer) expect(text string) error {
	t, err := l.next()
	if err != nil {
		return err
	}
	if t.kind != tPunct || t.text != text {
		return l.unexpected(t, "'"+text+"'")
	}
	return nil
}

func (l *lexer) unexpected(t token, want string) error {
	if t.kind == tEOF {
		return errorf("Invalid filter pattern: expected %s at end of pattern", want)
	}
	return errorf("Invalid filter pattern: expected %s at position %d: %s", want, t.pos, quote(l.s[t.pos:]))
}
