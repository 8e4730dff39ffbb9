package pattern

import (
	"regexp"
	"strings"
)

// maxRegexes is AWS's limit of regular expressions in one space-delimited
// or JSON pattern.
const maxRegexes = 2

// regexChars are the characters AWS allows between the '%' delimiters:
// ASCII letters and digits, the symbols : _ # = @ / ; , - and the
// operators ^ $ ? [ ] { } | \ * + . — no parentheses, no multi-byte
// characters. The blank is allowed too: AWS's own CDK examples match
// phrases such as %bind: address already in use%.
func regexChar(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	}
	return strings.IndexByte(":_#=@/;,- ^$?[]{}|\\*+.", c) >= 0
}

// readRegex reads "%body%" at the start of s and returns the compiled
// body and how many bytes it took. The expression matches anywhere in its
// subject, as %AUTHORIZED% matches "UNAUTHORIZED REQUEST".
func readRegex(s string) (*regexp.Regexp, int, error) {
	end := strings.IndexByte(s[1:], '%')
	if end < 0 {
		return nil, 0, errorf("Invalid regex: missing closing %%: %s", quote(s))
	}
	body := s[1 : 1+end]
	if body == "" {
		return nil, 0, errorf("Invalid regex: empty expression")
	}
	for i := 0; i < len(body); i++ {
		if !regexChar(body[i]) {
			return nil, 0, errorf("Invalid regex: unsupported character(s) in %%%s%%", quote(body))
		}
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, 0, errorf("Invalid regex: %%%s%%", quote(body))
	}
	return re, end + 2, nil
}
