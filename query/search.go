package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/store"
)

// SEARCH expressions (docs/search.md): SEARCH('body', 'Stat'[, Period]) in
// metric math returns one time series per metric the body matches, each
// read with the statistic and period like a MetricStat query.
//
//	body   := schema [,] [expr] | expr
//	schema := { name {, name} }              first the namespace, then dimension names
//	expr   := and { OR and }
//	and    := unary { [AND] unary }           juxtaposition is AND
//	unary  := NOT unary | ( expr ) | prop = value | term
//	value  := term | ( term { OR term } )
//	term   := "exact" | partial
//
// AND, OR and NOT are case sensitive; lower case they are search terms.
// Precedence is NOT, then AND, then OR.

const (
	maxSearchLen     = 1024 // characters of the body
	maxSearchResults = 500  // series one SEARCH returns
)

// searchNode is a SEARCH call of an expression.
type searchNode struct {
	body   string
	query  *searchQuery
	stat   statistic
	period int64 // 0: the query's Period
}

func (n searchNode) String() string {
	s := "SEARCH(" + strconv.Quote(n.body) + ", " + strconv.Quote(n.stat.name)
	if n.period > 0 {
		s += ", " + strconv.FormatInt(n.period, 10)
	}
	return s + ")"
}

// searchQuery is a parsed body.
type searchQuery struct {
	hasSchema  bool
	namespace  string   // the schema's
	schemaDims []string // the schema's dimension names, as written
	sortedDims []string // the same, sorted and unique
	expr       searchExpr
}

// searchError is a malformed SEARCH; GetMetricData answers it with a
// ValidationError naming the query. Positions in its text count from 1 in
// the query's Expression (AWS's exact wording is not known).
type searchError struct{ msg string }

func (e *searchError) Error() string { return e.msg }

func searchErrorf(format string, args ...any) error {
	return &searchError{msg: fmt.Sprintf(format, args...)}
}

// searchMetric is a series key being matched, with scratch space.
type searchMetric struct {
	key    *store.SeriesKey
	tenant string
	toks   []tokSpan
}

type searchExpr interface {
	match(m *searchMetric) bool
}

type (
	searchAnd  []searchExpr
	searchOr   []searchExpr
	searchNot  struct{ x searchExpr }
	searchTerm struct {
		prop    string // with hasProp: MetricName, Namespace, :aws.AccountId or a dimension name
		hasProp bool
		values  []searchValue // alternatives
	}
	// searchValue is an exact term (the whole property, case and punctuation
	// included) or a partial one: pieces to find among consecutive tokens.
	searchValue struct {
		exact   string
		isExact bool
		pieces  []piece
		whole   string // a partial term's letters and digits: it also matches s's, ignoring case
		// otherCase is whole[0] in the other case (or itself).
		otherCase byte
	}
	piece struct {
		text string
		fold bool // a one-token word matches case-insensitively
	}
	tokSpan struct{ lo, hi int }
)

func (a searchAnd) match(m *searchMetric) bool {
	for _, x := range a {
		if !x.match(m) {
			return false
		}
	}
	return true
}

func (o searchOr) match(m *searchMetric) bool {
	for _, x := range o {
		if x.match(m) {
			return true
		}
	}
	return false
}

func (n searchNot) match(m *searchMetric) bool { return !n.x.match(m) }

func (t *searchTerm) match(m *searchMetric) bool {
	k := m.key
	if !t.hasProp {
		if t.matchAny(k.Namespace, m) || t.matchAny(k.MetricName, m) {
			return true
		}
		for _, d := range k.Dimensions {
			if t.matchAny(d.Name, m) || t.matchAny(d.Value, m) {
				return true
			}
		}
		return false
	}
	switch t.prop {
	case "MetricName":
		return t.matchAny(k.MetricName, m)
	case "Namespace":
		return t.matchAny(k.Namespace, m)
	case ":aws.AccountId": // this account only: LOCAL or its own id
		return slices.ContainsFunc(t.values, func(v searchValue) bool {
			return v.isExact && (v.exact == "LOCAL" || v.exact == m.tenant)
		})
	}
	for _, d := range k.Dimensions {
		if d.Name == t.prop {
			return t.matchAny(d.Value, m)
		}
	}
	return false
}

func (t *searchTerm) matchAny(s string, m *searchMetric) bool {
	for i := range t.values {
		if t.values[i].matches(s, m) {
			return true
		}
	}
	return false
}

func (v *searchValue) matches(s string, m *searchMetric) bool {
	if v.isExact {
		return s == v.exact
	}
	// Any match holds the term's first letter or digit: most properties
	// are rejected without tokenizing them.
	if strings.IndexByte(s, v.whole[0]) < 0 && (v.whole[0] == v.otherCase || strings.IndexByte(s, v.otherCase) < 0) {
		return false
	}
	m.toks = tokenize(s, m.toks[:0])
	return matchPieces(s, m.toks, v.pieces) || len(m.toks) > 1 && equalFoldAlnum(s, v.whole)
}

// matchPieces: the pieces equal consecutive tokens of s.
func matchPieces(s string, toks []tokSpan, ps []piece) bool {
	for i := 0; i+len(ps) <= len(toks); i++ {
		ok := true
		for k, p := range ps {
			t := s[toks[i+k].lo:toks[i+k].hi]
			if p.fold && !strings.EqualFold(t, p.text) || !p.fold && t != p.text {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// equalFoldAlnum compares s without its delimiters to t, ignoring case.
func equalFoldAlnum(s, t string) bool {
	j := 0
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			continue
		}
		if j >= len(t) || lower(s[i]) != lower(t[j]) {
			return false
		}
		j++
	}
	return j == len(t)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Character classes of the tokenizer: letters, digits, and any non-ASCII
// byte (kept inside tokens) are alphanumeric; the rest delimits.
const (
	classDigit = 1 << iota
	classUpper
	classLower
	classAlnum
)

var charClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= '0' && c <= '9':
			t[c] = classDigit | classAlnum
		case c >= 'A' && c <= 'Z':
			t[c] = classUpper | classAlnum
		case c >= 'a' && c <= 'z':
			t[c] = classLower | classAlnum
		case c >= 0x80:
			t[c] = classAlnum
		}
	}
	return t
}()

func isDigit(c byte) bool { return charClass[c]&classDigit != 0 }
func isUpper(c byte) bool { return charClass[c]&classUpper != 0 }
func isLower(c byte) bool { return charClass[c]&classLower != 0 }
func isAlnum(c byte) bool { return charClass[c]&classAlnum != 0 }

// tokenize appends the tokens of s: runs of letters and digits, split where
// a digit run begins or ends and at camel-case humps ("SDBFailure" is SDB,
// Failure); everything else delimits.
func tokenize(s string, out []tokSpan) []tokSpan {
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isAlnum(s[j]) && !tokenBoundary(s, j) {
			j++
		}
		out = append(out, tokSpan{i, j})
		i = j
	}
	return out
}

func tokenBoundary(s string, j int) bool {
	a, b := s[j-1], s[j]
	switch {
	case isDigit(a) != isDigit(b):
		return true
	case isLower(a) && isUpper(b):
		return true
	case isUpper(a) && isUpper(b) && j+1 < len(s) && isLower(s[j+1]):
		return true
	}
	return false
}

// partialValue splits a partial term into words at its delimiters, and each
// word into tokens: a one-token word is a folded piece, the tokens of a
// longer word must match case and all.
func partialValue(text string, pos int) (searchValue, error) {
	var v searchValue
	for _, word := range strings.FieldsFunc(text, func(r rune) bool { return r < 0x80 && !isAlnum(byte(r)) }) {
		toks := tokenize(word, nil)
		for _, t := range toks {
			v.pieces = append(v.pieces, piece{text: word[t.lo:t.hi], fold: len(toks) == 1})
		}
	}
	for i := 0; i < len(text); i++ {
		if isAlnum(text[i]) {
			v.whole += text[i : i+1]
		}
	}
	if len(v.pieces) > 0 {
		v.otherCase = lower(v.whole[0])
		if v.otherCase == v.whole[0] {
			v.otherCase = strings.ToUpper(v.whole[:1])[0]
		}
	}
	if len(v.pieces) == 0 {
		return v, searchErrorf("the search term %q at position %d has no letters or digits", text, pos+1)
	}
	return v, nil
}

// searchTok is a token of a body: one of { } , ( ) =, 'w' a bare word,
// 'q' a quoted string, 0 the end.
type searchTok struct {
	kind byte
	text string
	pos  int
}

// lexSearch splits body; positions are offsets from base (where the body
// starts in the Expression).
func lexSearch(body string, base int) ([]searchTok, error) {
	var toks []searchTok
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\\' && i+1 < len(body) && body[i+1] == '\'':
			i++ // \' is ' (the body sits in a single-quoted string)
		case strings.IndexByte("{},()=", c) >= 0:
			toks = append(toks, searchTok{kind: c, text: string(c), pos: i})
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(body) && body[j] != c; j++ {
				if body[j] == '\\' && j+1 < len(body) {
					j++
				}
				b.WriteByte(body[j])
			}
			if j >= len(body) {
				return nil, searchErrorf("the quoted term at position %d is not terminated", base+i+1)
			}
			toks = append(toks, searchTok{kind: 'q', text: b.String(), pos: i})
			i = j + 1
		default:
			j := i
			for j < len(body) && !strings.ContainsRune(" \t\n\r{},()=\"'", rune(body[j])) {
				j++
			}
			toks = append(toks, searchTok{kind: 'w', text: body[i:j], pos: i})
			i = j
		}
	}
	toks = append(toks, searchTok{pos: len(body)})
	for i := range toks {
		toks[i].pos += base
	}
	return toks, nil
}

type searchParser struct {
	toks []searchTok
	i    int
}

// parseSearch parses a SEARCH body that starts at offset base of the
// Expression.
func parseSearch(body string, base int) (*searchQuery, error) {
	switch {
	case strings.TrimSpace(body) == "":
		return nil, searchErrorf("the search expression is empty")
	case len(body) > maxSearchLen:
		return nil, searchErrorf("the search expression has %d characters; at most %d are allowed", len(body), maxSearchLen)
	}
	toks, err := lexSearch(body, base)
	if err != nil {
		return nil, err
	}
	p := &searchParser{toks: toks}
	q := &searchQuery{}
	if p.peek().kind == '{' {
		if err := p.schema(q); err != nil {
			return nil, err
		}
	}
	if p.peek().kind != 0 {
		if q.expr, err = p.or(); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.kind != 0 {
		return nil, searchErrorf("unexpected %q at position %d", t.text, t.pos+1)
	}
	return q, nil
}

func (p *searchParser) peek() searchTok { return p.toks[p.i] }
func (p *searchParser) next() searchTok { t := p.toks[p.i]; p.i++; return t }

func (p *searchParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == 'w' && t.text == w
}

func unexpected(t searchTok, want string) error {
	if t.kind == 0 {
		return searchErrorf("the search expression ends where %s is expected", want)
	}
	return searchErrorf("unexpected %q at position %d where %s is expected", t.text, t.pos+1, want)
}

// schema parses {namespace, dim, ...} and an optional comma after it.
func (p *searchParser) schema(q *searchQuery) error {
	open := p.next()
	q.hasSchema = true
	first := true
	for {
		t := p.next()
		if t.kind != 'w' && t.kind != 'q' || t.text == "" {
			return unexpected(t, "a namespace or dimension name")
		}
		if first {
			q.namespace, first = t.text, false
		} else {
			q.schemaDims = append(q.schemaDims, t.text)
		}
		switch t = p.next(); t.kind {
		case ',':
			continue
		case '}':
		default:
			return unexpected(t, `"," or "}" in the schema opened at position `+strconv.Itoa(open.pos+1))
		}
		break
	}
	q.sortedDims = slices.Compact(slices.Sorted(slices.Values(q.schemaDims)))
	if p.peek().kind == ',' {
		p.i++
	}
	return nil
}

func (p *searchParser) or() (searchExpr, error) {
	var alts searchOr
	for {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		alts = append(alts, x)
		if !p.isWord("OR") {
			break
		}
		p.i++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (p *searchParser) and() (searchExpr, error) {
	var all searchAnd
	for {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		all = append(all, x)
		if p.isWord("AND") {
			p.i++
			continue
		}
		if t := p.peek(); t.kind == 0 || t.kind == ')' || p.isWord("OR") {
			break
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

func (p *searchParser) unary() (searchExpr, error) {
	t := p.next()
	switch {
	case t.kind == 'w' && t.text == "NOT":
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return searchNot{x}, nil
	case t.kind == '(':
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != ')' {
			return nil, unexpected(c, `")" closing the "(" at position `+strconv.Itoa(t.pos+1))
		}
		return x, nil
	case t.kind == 'w' && (t.text == "AND" || t.text == "OR"):
		return nil, unexpected(t, "a search term")
	case t.kind == 'w' || t.kind == 'q':
		if p.peek().kind == '=' {
			p.i++
			return p.property(t)
		}
		v, err := termValue(t)
		if err != nil {
			return nil, err
		}
		return &searchTerm{values: []searchValue{v}}, nil
	}
	return nil, unexpected(t, "a search term")
}

// property parses the value of prop=: a term or (term OR term ...).
func (p *searchParser) property(prop searchTok) (searchExpr, error) {
	term := &searchTerm{prop: prop.text, hasProp: true}
	if prop.text == "" {
		return nil, searchErrorf("the property name at position %d is empty", prop.pos+1)
	}
	grouped := p.peek().kind == '('
	if grouped {
		p.i++
	}
	for {
		t := p.next()
		if t.kind != 'w' && t.kind != 'q' || t.kind == 'w' && (t.text == "AND" || t.text == "OR" || t.text == "NOT") {
			return nil, unexpected(t, "a value for "+prop.text)
		}
		v, err := termValue(t)
		if err != nil {
			return nil, err
		}
		term.values = append(term.values, v)
		if !grouped || !p.isWord("OR") {
			break
		}
		p.i++
	}
	if grouped {
		if c := p.next(); c.kind != ')' {
			return nil, unexpected(c, `"OR" or ")" in the values of `+prop.text)
		}
	}
	return term, nil
}

func termValue(t searchTok) (searchValue, error) {
	if t.kind == 'q' {
		return searchValue{exact: t.text, isExact: true}, nil
	}
	return partialValue(t.text, t.pos)
}

// matches reports whether the series key is found by the query.
func (q *searchQuery) matches(m *searchMetric) bool {
	k := m.key
	if q.hasSchema {
		if k.Namespace != q.namespace || len(k.Dimensions) != len(q.sortedDims) {
			return false
		}
		for i, d := range k.Dimensions { // both sorted by name
			if d.Name != q.sortedDims[i] {
				return false
			}
		}
	}
	return q.expr == nil || q.expr.match(m)
}

// fixedNamespace is the one namespace every match is in, when the query
// says so (a schema, or an exact Namespace= term every match needs).
func (q *searchQuery) fixedNamespace() (string, bool) {
	if q.hasSchema {
		return q.namespace, true
	}
	terms := []searchExpr{q.expr}
	if and, ok := q.expr.(searchAnd); ok {
		terms = and
	}
	for _, x := range terms {
		if t, ok := x.(*searchTerm); ok && t.hasProp && t.prop == "Namespace" && len(t.values) == 1 && t.values[0].isExact {
			return t.values[0].exact, true
		}
	}
	return "", false
}

// parseSearchCall makes a searchNode of SEARCH's arguments; the body starts
// at offset base of the Expression.
func parseSearchCall(args []mathNode, base int) (searchNode, error) {
	if len(args) < 2 || len(args) > 3 {
		return searchNode{}, searchErrorf("SEARCH takes a search expression, a statistic and optionally a period, not %d argument(s)", len(args))
	}
	body, ok := args[0].(strNode)
	if !ok {
		return searchNode{}, searchErrorf("the first argument of SEARCH must be a quoted search expression, not %s", args[0])
	}
	n := searchNode{body: body.s}
	q, err := parseSearch(body.s, base)
	if err != nil {
		return n, err
	}
	n.query = q
	stat, ok := args[1].(strNode)
	if !ok {
		return n, searchErrorf("the second argument of SEARCH must be a quoted statistic, not %s", args[1])
	}
	if n.stat, ok = parseStat(stat.s); !ok {
		return n, searchErrorf("the statistic %q of SEARCH is not supported: use SampleCount, Average, Sum, Minimum, Maximum or an extended statistic such as p99 or tm90", stat.s)
	}
	if len(args) == 3 {
		num, ok := args[2].(numNode)
		p := int64(num.v)
		if !ok || float64(p) != num.v || checkPeriod(p, "period") != nil {
			return n, searchErrorf("the period %s of SEARCH must be 1, 5, 10, 20, 30, 60 or a multiple of 60 seconds", args[2])
		}
		n.period = p
	}
	return n, nil
}
