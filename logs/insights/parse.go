package insights

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxQueryLength is the longest query StartQuery takes (characters).
const MaxQueryLength = 10000

// DefaultLimit is the number of rows a query without limit returns, and
// MaxLimit the largest limit it may ask for.
const (
	DefaultLimit = 10000
	MaxLimit     = 100000
)

// Query is a parsed query; it is immutable and safe to share.
type Query struct {
	text     string
	cmds     []command
	display  *displayCmd // the last display, nil for none
	needJSON bool        // a field beyond the system fields is read
	fields   []string    // every field name the query reads
	plan     plan
}

// commandKeywords are the commands, as syntax errors list them.
const commandKeywords = "{K_PARSE, K_FIELDS, K_DISPLAY, K_FILTER, K_STATS, K_SORT, K_LIMIT, K_DEDUP}"

// parser is a recursive-descent parser over the lexer with one token of
// lookahead.
type parser struct {
	q      string
	lex    lexer
	tok    token
	err    error
	q2     *Query
	inAggs *statsCmd   // set while parsing stats items: aggregate calls are allowed
	stats  []*statsCmd // the stats commands so far
}

// Parse compiles a query. Errors are *Error (errors.Is ErrMalformed).
func Parse(q string) (*Query, error) {
	if n := charOffset(q, len(q)); n > MaxQueryLength {
		return nil, &Error{Message: fmt.Sprintf("query string is %d characters, more than the %d allowed", n, MaxQueryLength)}
	}
	p := &parser{q: q, lex: lexer{q: q}, q2: &Query{text: q}}
	p.advance()
	for p.err == nil {
		if p.tok.kind == tEOF {
			if len(p.q2.cmds) == 0 && p.q2.display == nil {
				return nil, errAt(q, 0, len(q), "query has no command")
			}
			break
		}
		p.command()
		if p.err != nil {
			break
		}
		if p.tok.kind == tEOF {
			break
		}
		if !p.isOp("|") {
			p.fail("extraneous input '%s' expecting {<EOF>, '|'}", p.tok.echo(q))
			break
		}
		p.advance()
	}
	if p.err != nil {
		return nil, p.err
	}
	if err := p.q2.check(); err != nil {
		return nil, err
	}
	return p.q2, nil
}

func (p *parser) advance() {
	if p.err != nil {
		return
	}
	t, err := p.lex.next()
	if err != nil {
		p.err = err
		p.tok = token{kind: tEOF, pos: len(p.q), end: len(p.q)}
		return
	}
	p.tok = t
}

// fail records the first error, located at the current token.
func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = errAt(p.q, p.tok.pos, p.tok.end, format, args...)
	}
}

func (p *parser) isOp(op string) bool { return p.tok.kind == tOp && p.tok.text == op }

// isWord tells whether the current token is the keyword w (any case).
func (p *parser) isWord(w string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, w)
}

func (p *parser) expectOp(op string) {
	if !p.isOp(op) {
		p.fail("mismatched input '%s' expecting '%s'", p.tok.echo(p.q), op)
		return
	}
	p.advance()
}

// command parses one command.
func (p *parser) command() {
	if p.tok.kind != tIdent {
		p.fail("mismatched input '%s' expecting %s", p.tok.echo(p.q), commandKeywords)
		return
	}
	word := strings.ToLower(p.tok.text)
	p.advance()
	var c command
	switch word {
	case "fields":
		c = &fieldsCmd{items: p.namedList(false)}
	case "display":
		p.q2.display = &displayCmd{items: p.namedList(false)}
		return
	case "filter":
		c = &filterCmd{cond: p.expr()}
	case "parse":
		c = p.parseCommand()
	case "stats":
		sc := p.statsCommand()
		if sc != nil {
			p.stats = append(p.stats, sc)
			c = sc
		}
	case "sort":
		c = p.sortCommand()
	case "limit":
		c = p.limitCommand()
	case "dedup":
		c = &dedupCmd{items: p.namedList(false)}
	default:
		p.err = errAt(p.q, p.tok.pos, p.tok.pos, "mismatched input '%s' expecting %s", echoText(word), commandKeywords)
		return
	}
	if p.err == nil {
		p.q2.cmds = append(p.q2.cmds, c)
	}
}

// namedList parses expr [as name] {, expr [as name]}.
func (p *parser) namedList(aggs bool) []namedExpr {
	var out []namedExpr
	for p.err == nil {
		start := p.tok.pos
		e := p.expr()
		if p.err != nil {
			return nil
		}
		name := exprName(e, p.q[start:p.lastEnd()])
		if p.isWord("as") {
			p.advance()
			name = p.name()
		}
		out = append(out, namedExpr{name: name, e: e})
		if !p.isOp(",") {
			break
		}
		p.advance()
	}
	_ = aggs
	return out
}

// lastEnd is the end of the previous token: the lexer's position before
// the current token's leading space.
func (p *parser) lastEnd() int {
	end := p.tok.pos
	for end > 0 && strings.ContainsRune(" \t\r\n", rune(p.q[end-1])) {
		end--
	}
	return end
}

// exprName is the column a projection without as fills: a field's own
// name, else the expression's text.
func exprName(e expr, text string) string {
	if f, ok := e.(*fieldRef); ok {
		return f.name
	}
	return strings.TrimSpace(text)
}

// name parses a field name (bare or backticked).
func (p *parser) name() string {
	if p.tok.kind != tIdent && p.tok.kind != tQuoted {
		p.fail("mismatched input '%s' expecting a field name", p.tok.echo(p.q))
		return ""
	}
	n := p.tok.text
	p.advance()
	return n
}

// parseCommand parses parse [field] "glob" as a, b or parse [field] /re/.
func (p *parser) parseCommand() command {
	var src expr = &fieldRef{name: "@message", sys: sysMessage}
	if p.tok.kind != tString && p.tok.kind != tRegex {
		src = p.additive()
	}
	c := &parseCmd{src: src}
	switch p.tok.kind {
	case tString:
		glob := p.tok.text
		p.advance()
		if !p.isWord("as") {
			p.fail("mismatched input '%s' expecting K_AS", p.tok.echo(p.q))
			return nil
		}
		p.advance()
		for p.err == nil {
			c.names = append(c.names, p.name())
			if !p.isOp(",") {
				break
			}
			p.advance()
		}
		stars := strings.Count(glob, "*")
		if stars != len(c.names) && p.err == nil {
			p.fail("parse pattern has %d wildcards but %d fields follow as", stars, len(c.names))
			return nil
		}
		c.glob = strings.Split(glob, "*")
	case tRegex:
		re, err := compileRegex(p.tok.text)
		if err != nil {
			p.fail("%s", err.Error())
			return nil
		}
		c.re = re
		c.names = re.SubexpNames()[1:]
		named := 0
		for _, n := range c.names {
			if n != "" {
				named++
			}
		}
		if named == 0 {
			p.fail("parse regular expression has no named capture group (?<name>...)")
			return nil
		}
		p.advance()
	default:
		p.fail("mismatched input '%s' expecting a pattern string or /regex/", p.tok.echo(p.q))
		return nil
	}
	return c
}

// matchGlob matches a parse glob (its literal parts, split at each *) as
// its regexp from globRegexp would, without one: the match starts at the
// first occurrence of the first part, each * takes the text up to the
// next occurrence of the following part, and a final * the rest. (Were a
// part missing after the first occurrence of the first, it would be
// missing after any later one, so no other start can match.)
func matchGlob(s string, parts []string, caps []string) ([]string, bool) {
	caps = caps[:0]
	i := strings.Index(s, parts[0])
	if i < 0 {
		return caps, false
	}
	pos := i + len(parts[0])
	for k := 1; k < len(parts); k++ {
		if k == len(parts)-1 && parts[k] == "" {
			return append(caps, s[pos:]), true
		}
		j := strings.Index(s[pos:], parts[k])
		if j < 0 {
			return caps, false
		}
		caps = append(caps, s[pos:pos+j])
		pos += j + len(parts[k])
	}
	return caps, true
}

// compileRegex compiles a query regex. The language's regexes are
// Hyperscan's; RE2 covers their common part, and the rest (lookaround,
// backreferences, possessive quantifiers) is refused.
func compileRegex(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		var msg string
		if strings.Contains(s, "(?=") || strings.Contains(s, "(?!") || strings.Contains(s, "(?<=") || strings.Contains(s, "(?<!") {
			msg = "lookaround assertions are not supported"
		} else {
			msg = strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		}
		return nil, fmt.Errorf("invalid regular expression /%s/: %s (RE2 syntax)", echoText(s), msg)
	}
	return re, nil
}

// statsCommand parses stats agg [as name], … [by expr [as name], …].
func (p *parser) statsCommand() *statsCmd {
	c := &statsCmd{binKey: -1}
	p.inAggs = c
	c.items = p.namedList(true)
	p.inAggs = nil
	if p.err != nil {
		return nil
	}
	for _, it := range c.items {
		if !hasAgg(it.e) {
			p.err = errAt(p.q, p.tok.pos, p.tok.pos, "stats expression '%s' has no aggregate function", echoText(it.name))
			return nil
		}
	}
	if p.isWord("by") {
		p.advance()
		c.by = p.namedList(false)
	}
	for i, b := range c.by {
		if isBin(b.e) && c.binKey < 0 {
			c.binKey = i
		}
	}
	return c
}

// sortCommand parses sort expr [asc|desc], ….
func (p *parser) sortCommand() command {
	c := &sortCmd{}
	for p.err == nil {
		k := sortKey{e: p.expr()}
		switch {
		case p.isWord("desc"):
			k.desc = true
			p.advance()
		case p.isWord("asc"):
			p.advance()
		}
		c.keys = append(c.keys, k)
		if !p.isOp(",") {
			break
		}
		p.advance()
	}
	return c
}

// limitCommand parses limit [any] n.
func (p *parser) limitCommand() command {
	c := &limitCmd{}
	if p.isWord("any") {
		c.any = true
		p.advance()
	}
	if p.tok.kind != tNumber {
		p.fail("mismatched input '%s' expecting INTEGER", p.tok.echo(p.q))
		return nil
	}
	n, err := strconv.Atoi(p.tok.text)
	if err != nil || n < 1 || n > MaxLimit {
		p.fail("limit must be an integer from 1 to %d, got '%s'", MaxLimit, p.tok.echo(p.q))
		return nil
	}
	c.n = n
	p.advance()
	return c
}

// Fields lists the field names the query reads.
func (q *Query) Fields() []string { return append([]string(nil), q.fields...) }

// NeedsMessageFields tells whether the query reads a field discovered in
// the message (so the caller cannot skip decoding).
func (q *Query) NeedsMessageFields() bool { return q.needJSON }
