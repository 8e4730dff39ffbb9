package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/record"
)

// The Metrics Insights query language (docs/metrics-insights.md):
//
//	query   := SELECT func ( name ) FROM from [WHERE cond] [GROUP BY name {, name}]
//	           [ORDER BY func ( ) [ASC | DESC]] [LIMIT number]
//	func    := AVG | COUNT | MAX | MIN | SUM
//	from    := name | SCHEMA ( name {, name} )
//	cond    := and { OR and }
//	and     := atom { AND atom }
//	atom    := ( cond ) | name (= | !=) 'value'
//	name    := bare | "quoted"          bare: [A-Za-z_][A-Za-z0-9_]*, not a keyword
//
// Keywords and function names are case-insensitive; names and values are
// case-sensitive. Inside quotes a backslash escapes the next character.

// insightsFuncs are the aggregate functions, in the order errors list them.
var insightsFuncs = []string{"AVG", "COUNT", "MAX", "MIN", "SUM"}

// insightsMaxLimit is the most series one query returns (LIMIT's bound).
const insightsMaxLimit = 500

// insightsKeywords may not be bare names: they must be double-quoted. This
// is the grammar's own words and the commonest SQL ones, not AWS's whole
// reserved-word list.
var insightsKeywords = []string{
	"ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "DESC", "DISTINCT", "ELSE", "END", "FROM",
	"GROUP", "HAVING", "IN", "IS", "JOIN", "LIKE", "LIMIT", "NOT", "NULL", "ON", "OR", "ORDER",
	"SCHEMA", "SELECT", "THEN", "UNION", "WHEN", "WHERE",
}

// insightsQuery is one parsed Metrics Insights query.
type insightsQuery struct {
	fn, metric, namespace string
	schema                []string // the exact dimension set when hasSchema (sorted)
	hasSchema             bool
	where                 whereNode // nil: every series
	groupBy               []string
	orderBy               string // "" for none, else a function
	desc                  bool
	limit                 int // 0: none
}

// whereNode is a WHERE condition over one series' dimensions (sorted).
type whereNode interface {
	match(dims []record.Dimension) bool
}

type (
	// whereCmp is key = 'value' (or != when neg). A series without the key
	// does not match = and does match !=.
	whereCmp struct {
		key, value string
		neg        bool
	}
	whereBool struct {
		or   bool
		l, r whereNode
	}
)

func (c whereCmp) match(dims []record.Dimension) bool {
	v, ok := dimValue(dims, c.key)
	return (ok && v == c.value) != c.neg
}

func (b whereBool) match(dims []record.Dimension) bool {
	if b.or {
		return b.l.match(dims) || b.r.match(dims)
	}
	return b.l.match(dims) && b.r.match(dims)
}

// dimValue finds a dimension by name in a sorted set.
func dimValue(dims []record.Dimension, name string) (string, bool) {
	i, ok := slices.BinarySearchFunc(dims, name, func(d record.Dimension, n string) int { return strings.Compare(d.Name, n) })
	if !ok {
		return "", false
	}
	return dims[i].Value, true
}

// isInsights tells a Metrics Insights query from metric math: it starts
// with SELECT.
func isInsights(src string) bool {
	s := strings.TrimLeft(src, " \t\r\n")
	return len(s) > 6 && strings.EqualFold(s[:6], "SELECT") && !isBareChar(s[6])
}

// insightsError is a syntax or semantic error with the 1-based character
// position it was found at (0 when it concerns the whole query).
type insightsError struct {
	pos int
	msg string
}

func (e *insightsError) Error() string {
	if e.pos > 0 {
		return fmt.Sprintf("%s (at character %d)", e.msg, e.pos)
	}
	return e.msg
}

// insightsToken kinds: 'w' bare word, 'q' "quoted name", 's' 'string',
// 'n' number, 'o' punctuation, 0 the end.
type insightsToken struct {
	kind byte
	text string
	pos  int // 0-based byte offset
}

func isBareChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lexInsights(src string) ([]insightsToken, error) {
	var toks []insightsToken
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			text, n, err := lexQuoted(src, i)
			if err != nil {
				return nil, err
			}
			kind := byte('q')
			if c == '\'' {
				kind = 's'
			}
			toks = append(toks, insightsToken{kind, text, i})
			i += n
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			toks = append(toks, insightsToken{'n', src[i:j], i})
			i = j
		case isBareChar(c):
			j := i
			for j < len(src) && (isBareChar(src[j]) || src[j] == '.') {
				j++
			}
			toks = append(toks, insightsToken{'w', src[i:j], i})
			i = j
		case c == '!' && i+1 < len(src) && src[i+1] == '=', c == '<' && i+1 < len(src) && src[i+1] == '>':
			toks = append(toks, insightsToken{'o', src[i : i+2], i})
			i += 2
		case strings.IndexByte("(),=<>*", c) >= 0:
			toks = append(toks, insightsToken{'o', src[i : i+1], i})
			i++
		default:
			return nil, &insightsError{i + 1, fmt.Sprintf("unexpected character %q: a name with characters other than letters, digits and underscores must be double-quoted", rune(c))}
		}
	}
	return append(toks, insightsToken{pos: len(src)}), nil
}

// lexQuoted reads the quoted text starting at src[i] (its quote) and
// returns it unescaped with the number of bytes it took.
func lexQuoted(src string, i int) (string, int, error) {
	quote := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if j+1 < len(src) {
				j++
				b.WriteByte(src[j])
			}
		case quote:
			return b.String(), j + 1 - i, nil
		default:
			b.WriteByte(src[j])
		}
	}
	return "", 0, &insightsError{i + 1, fmt.Sprintf("the quote %c is not closed", quote)}
}

type insightsParser struct {
	toks []insightsToken
	i    int
}

// parseInsights parses one Metrics Insights query.
func parseInsights(src string) (*insightsQuery, error) {
	toks, err := lexInsights(src)
	if err != nil {
		return nil, err
	}
	p := &insightsParser{toks: toks}
	q := &insightsQuery{}
	if err := p.keyword("SELECT"); err != nil {
		return nil, err
	}
	if q.fn, err = p.function(); err != nil {
		return nil, err
	}
	if err := p.punct("("); err != nil {
		return nil, err
	}
	if q.metric, err = p.name("a metric name"); err != nil {
		return nil, err
	}
	if err := p.punct(")"); err != nil {
		return nil, err
	}
	if err := p.keyword("FROM"); err != nil {
		return nil, err
	}
	if err := p.from(q); err != nil {
		return nil, err
	}
	for _, clause := range []func(*insightsQuery) error{p.whereClause, p.groupClause, p.orderClause, p.limitClause} {
		if err := clause(q); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.kind != 0 {
		return nil, p.unexpected(t, "the end of the query (clauses go in the order WHERE, GROUP BY, ORDER BY, LIMIT)")
	}
	return q, nil
}

func (p *insightsParser) peek() insightsToken { return p.toks[p.i] }
func (p *insightsParser) next() insightsToken { t := p.toks[p.i]; p.i++; return t }

// isKeyword consumes the keyword when it comes next.
func (p *insightsParser) isKeyword(kw string) bool {
	if t := p.peek(); t.kind == 'w' && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *insightsParser) keyword(kw string) error {
	if !p.isKeyword(kw) {
		return p.unexpected(p.peek(), kw)
	}
	return nil
}

func (p *insightsParser) isPunct(s string) bool {
	if t := p.peek(); t.kind == 'o' && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *insightsParser) punct(s string) error {
	if !p.isPunct(s) {
		return p.unexpected(p.peek(), fmt.Sprintf("%q", s))
	}
	return nil
}

func (p *insightsParser) unexpected(t insightsToken, want string) error {
	if t.kind == 0 {
		return &insightsError{t.pos + 1, "the query ends where " + want + " is expected"}
	}
	shown := t.text
	switch t.kind {
	case 'q':
		shown = strconv.Quote(t.text)
	case 's':
		shown = "'" + t.text + "'"
	}
	return &insightsError{t.pos + 1, fmt.Sprintf("found %s where %s is expected", shown, want)}
}

// function reads one of the aggregate functions.
func (p *insightsParser) function() (string, error) {
	t := p.peek()
	if t.kind != 'w' {
		return "", p.unexpected(t, "a function (AVG, COUNT, MAX, MIN or SUM)")
	}
	fn := strings.ToUpper(t.text)
	if !slices.Contains(insightsFuncs, fn) {
		return "", &insightsError{t.pos + 1, fmt.Sprintf("the function %s is not supported: use AVG, COUNT, MAX, MIN or SUM", t.text)}
	}
	p.i++
	return fn, nil
}

// name reads a namespace, metric or dimension name.
func (p *insightsParser) name(what string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == 'q':
		p.i++
		return t.text, nil
	case t.kind != 'w' || t.text[0] >= '0' && t.text[0] <= '9':
		return "", p.unexpected(t, what)
	case strings.Contains(t.text, "."):
		return "", &insightsError{t.pos + 1, fmt.Sprintf("the name %s must be double-quoted: it has characters other than letters, digits and underscores", t.text)}
	case slices.Contains(insightsKeywords, strings.ToUpper(t.text)):
		return "", &insightsError{t.pos + 1, fmt.Sprintf("found the keyword %s where %s is expected (a name that is a keyword must be double-quoted)", t.text, what)}
	}
	p.i++
	return t.text, nil
}

func (p *insightsParser) from(q *insightsQuery) error {
	if t := p.peek(); t.kind == 'w' && strings.EqualFold(t.text, "SCHEMA") && p.toks[p.i+1].text == "(" {
		p.i += 2
		q.hasSchema = true
		var err error
		if q.namespace, err = p.name("a namespace"); err != nil {
			return err
		}
		for p.isPunct(",") {
			k, err := p.name("a dimension name")
			if err != nil {
				return err
			}
			q.schema = append(q.schema, k)
		}
		slices.Sort(q.schema)
		q.schema = slices.Compact(q.schema)
		return p.punct(")")
	}
	var err error
	q.namespace, err = p.name("a namespace or SCHEMA(...)")
	return err
}

func (p *insightsParser) whereClause(q *insightsQuery) error {
	if !p.isKeyword("WHERE") {
		return nil
	}
	var err error
	q.where, err = p.or()
	return err
}

func (p *insightsParser) or() (whereNode, error) {
	l, err := p.and()
	for err == nil && p.isKeyword("OR") {
		var r whereNode
		if r, err = p.and(); err == nil {
			l = whereBool{or: true, l: l, r: r}
		}
	}
	return l, err
}

func (p *insightsParser) and() (whereNode, error) {
	l, err := p.atom()
	for err == nil && p.isKeyword("AND") {
		var r whereNode
		if r, err = p.atom(); err == nil {
			l = whereBool{l: l, r: r}
		}
	}
	return l, err
}

func (p *insightsParser) atom() (whereNode, error) {
	if p.isPunct("(") {
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		return n, p.punct(")")
	}
	t := p.peek()
	if t.kind == 'w' {
		if err := specialKey(t); err != nil {
			return nil, err
		}
	}
	key, err := p.name("a dimension name")
	if err != nil {
		return nil, err
	}
	op := p.peek()
	switch {
	case op.kind == 'o' && (op.text == "=" || op.text == "!="):
		p.i++
	case op.kind == 'w' && slices.Contains([]string{"LIKE", "IN", "IS", "NOT", "BETWEEN"}, strings.ToUpper(op.text)),
		op.kind == 'o' && (op.text == "<>" || op.text == "<" || op.text == ">"):
		return nil, &insightsError{op.pos + 1, fmt.Sprintf("the operator %s is not supported in WHERE: use = or !=", op.text)}
	default:
		return nil, p.unexpected(op, "= or !=")
	}
	v := p.next()
	if v.kind != 's' {
		return nil, p.unexpected(v, "a single-quoted value")
	}
	return whereCmp{key: key, value: v.text, neg: op.text == "!="}, nil
}

// specialKey refuses the keys AWS gives a meaning this server does not have.
func specialKey(t insightsToken) error {
	switch lower := strings.ToLower(t.text); {
	case strings.HasPrefix(lower, "tag."):
		return &insightsError{t.pos + 1, fmt.Sprintf("the key %s filters by resource tag, which this server does not support", t.text)}
	case lower == "aws.accountid":
		return &insightsError{t.pos + 1, "the key AWS.AccountId filters by account (cross-account observability), which this server does not support"}
	}
	return nil
}

func (p *insightsParser) groupClause(q *insightsQuery) error {
	if !p.isKeyword("GROUP") {
		return nil
	}
	if err := p.keyword("BY"); err != nil {
		return err
	}
	for {
		k, err := p.name("a dimension name")
		if err != nil {
			return err
		}
		q.groupBy = append(q.groupBy, k)
		if !p.isPunct(",") {
			return nil
		}
	}
}

func (p *insightsParser) orderClause(q *insightsQuery) error {
	if !p.isKeyword("ORDER") {
		return nil
	}
	if err := p.keyword("BY"); err != nil {
		return err
	}
	var err error
	if q.orderBy, err = p.function(); err != nil {
		return err
	}
	if err := p.punct("("); err != nil {
		return err
	}
	if t := p.peek(); t.kind != 'o' || t.text != ")" {
		return &insightsError{t.pos + 1, "ORDER BY takes the function with empty parentheses, as in ORDER BY " + q.orderBy + "()"}
	}
	p.i++
	switch {
	case p.isKeyword("DESC"):
		q.desc = true
	case p.isKeyword("ASC"):
	}
	return nil
}

func (p *insightsParser) limitClause(q *insightsQuery) error {
	if !p.isKeyword("LIMIT") {
		return nil
	}
	t := p.next()
	if t.kind != 'n' {
		return p.unexpected(t, "a number of series")
	}
	n, err := strconv.Atoi(t.text)
	if err != nil || n < 1 || n > insightsMaxLimit {
		return &insightsError{t.pos + 1, fmt.Sprintf("LIMIT must be between 1 and %d, not %s", insightsMaxLimit, t.text)}
	}
	q.limit = n
	return nil
}
