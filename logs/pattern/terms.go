package pattern

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSet is an unstructured pattern: every term in all must occur, at
// least one in any must occur when any is not empty, and none in not may
// occur. Occurrence is a case-sensitive substring test.
type termSet struct {
	all []string
	any []string
	not []string
	// Regular expression items (%...%), searched anywhere in the message.
	allRe, anyRe, notRe []*regexp.Regexp
}

func (t *termSet) match(msg string) bool {
	for _, s := range t.all {
		if !strings.Contains(msg, s) {
			return false
		}
	}
	for _, re := range t.allRe {
		if !re.MatchString(msg) {
			return false
		}
	}
	if len(t.any) > 0 || len(t.anyRe) > 0 {
		if !t.anyMatch(msg) {
			return false
		}
	}
	for _, s := range t.not {
		if strings.Contains(msg, s) {
			return false
		}
	}
	for _, re := range t.notRe {
		if re.MatchString(msg) {
			return false
		}
	}
	return true
}

func (t *termSet) anyMatch(msg string) bool {
	for _, s := range t.any {
		if strings.Contains(msg, s) {
			return true
		}
	}
	for _, re := range t.anyRe {
		if re.MatchString(msg) {
			return true
		}
	}
	return false
}

// parseTerms reads blank-separated terms, each optionally prefixed by '?'
// (alternative) or '-' (exclusion), each a bare word of letters, digits
// and underscores, a double-quoted phrase or a %regex%.
func parseTerms(s string) (termSet, error) {
	var ts termSet
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i == len(s) {
			return ts, nil
		}
		start := i
		prefix := byte(0)
		if s[i] == '?' || s[i] == '-' {
			prefix = s[i]
			i++
		}
		var term string
		if i < len(s) && s[i] == '%' {
			re, n, err := readRegex(s[i:])
			if err != nil {
				return ts, err
			}
			i += n
			if i < len(s) && !isBlank(s[i]) {
				return ts, errorf("Invalid character(s) in term '%s'", quote(wordAt(s, start)))
			}
			switch prefix {
			case '?':
				ts.anyRe = append(ts.anyRe, re)
			case '-':
				ts.notRe = append(ts.notRe, re)
			default:
				ts.allRe = append(ts.allRe, re)
			}
			continue
		}
		if i < len(s) && s[i] == '"' {
			phrase, n, err := readQuoted(s[i:])
			if err != nil {
				return ts, err
			}
			i += n
			if i < len(s) && !isBlank(s[i]) {
				return ts, errorf("Invalid character(s) in term '%s'", quote(wordAt(s, start)))
			}
			term = phrase
		} else {
			j := i
			for j < len(s) && !isBlank(s[j]) {
				j++
			}
			term = s[i:j]
			if term == "" || !isWord(term) {
				return ts, errorf("Invalid character(s) in term '%s'", quote(s[start:j]))
			}
			i = j
		}
		if term == "" {
			// An empty phrase occurs in every message; it adds nothing
			// to all or any, and as an exclusion it excludes everything.
			switch prefix {
			case '-':
				ts.not = append(ts.not, term)
			case '?':
				ts.any = append(ts.any, term)
			}
			continue
		}
		switch prefix {
		case '?':
			ts.any = append(ts.any, term)
		case '-':
			ts.not = append(ts.not, term)
		default:
			ts.all = append(ts.all, term)
		}
	}
}

// wordAt returns the blank-delimited word that starts at i.
func wordAt(s string, i int) string {
	j := i
	for j < len(s) && !isBlank(s[j]) {
		j++
	}
	return s[i:j]
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isWord reports whether s is letters, digits and underscores only, which
// is what AWS accepts in an unquoted term.
func isWord(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
		i += n
	}
	return true
}

// readQuoted reads a double-quoted string at the start of s, with \" and \\
// as escapes, and returns its content and how many bytes it took.
func readQuoted(s string) (string, int, error) {
	var b []byte
	esc := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			b = append(b, c)
			esc = false
		case c == '\\':
			if b == nil {
				b = append(make([]byte, 0, len(s)), s[1:i]...)
			}
			esc = true
		case c == '"':
			if b == nil {
				return s[1:i], i + 1, nil
			}
			return string(b), i + 1, nil
		default:
			if b != nil {
				b = append(b, c)
			}
		}
	}
	return "", 0, errorf("Unterminated quoted string: %s", quote(s))
}
