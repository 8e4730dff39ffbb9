package awsapi

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// queryText is a Query protocol leaf: every Query value is text, which the
// accessors may read as a number, a boolean or a timestamp (a JSON or CBOR
// string may not pass for a number).
type queryText string

// decodeQuery turns Query form values (MetricData.member.1.Dimensions.member.2.Name=x)
// into the same tree the other protocols give, with DefaultLimits; a form
// that does not make one request gives an empty tree.
func decodeQuery(form url.Values) Input {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	q := newQueryBuilder(DefaultLimits)
	for _, k := range keys {
		for _, v := range form[k] { // a second value is a duplicate
			if err := q.add(k, v); err != nil {
				return Input{}
			}
		}
	}
	return q.input()
}

// parseQuery decodes a raw Query body or URL query strictly, in one pass
// that counts every parameter against lim before it is built: a bad escape
// is MalformedQueryString; a parameter given twice, an index that is not a
// canonical positive integer (member.01, member.0) or a name used both for
// a value and a structure is InvalidQueryParameter. It returns the Action.
func parseQuery(raw string, lim Limits) (Input, string, error) {
	q := newQueryBuilder(lim)
	var action string
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if err := q.bud.take(0); err != nil {
			return nil, "", err
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			return nil, "", MalformedQueryString("The query string has a bad escape in the parameter %s.", Prefix(k))
		}
		if key == "Action" {
			if action != "" {
				return nil, "", InvalidQueryParameter("The parameter Action is given more than once.")
			}
			action = val
			continue
		}
		if err := q.add(key, val); err != nil {
			return nil, "", err
		}
	}
	return q.input(), action, nil
}

type queryBuilder struct {
	root map[string]any
	bud  *budget
}

func newQueryBuilder(lim Limits) *queryBuilder {
	return &queryBuilder{root: map[string]any{}, bud: newBudget(lim)}
}

// maxQueryIndex bounds a member index: no CloudWatch list is near it.
const maxQueryIndex = 100_000

func (q *queryBuilder) add(key, val string) error {
	if key == "Version" || key == "Action" {
		return nil
	}
	parts := strings.Split(key, ".")
	if err := q.bud.take(len(parts)); err != nil {
		return err
	}
	node := q.root
	for i, p := range parts {
		if p == "" {
			return InvalidQueryParameter("The parameter name %s has an empty part.", Prefix(key))
		}
		if i > 0 && parts[i-1] == "member" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > maxQueryIndex || strconv.Itoa(n) != p {
				return InvalidQueryParameter("The parameter %s has the index %s: a list index is a number from 1 to %d written without leading zeros.",
					Prefix(key), Prefix(p), maxQueryIndex)
			}
		}
		existing, present := node[p]
		if i == len(parts)-1 {
			if present {
				return InvalidQueryParameter("The parameter %s is given more than once, or also as a structure.", Prefix(key))
			}
			node[p] = queryText(val)
			return nil
		}
		next, isMap := existing.(map[string]any)
		switch {
		case present && !isMap:
			return InvalidQueryParameter("The parameter %s is a value and also a structure.", Prefix(strings.Join(parts[:i+1], ".")))
		case !present:
			if err := q.bud.take(i + 1); err != nil {
				return err
			}
			next = map[string]any{}
			node[p] = next
		}
		node = next
	}
	return nil
}

// input is the tree built: lists made of member.N structures, below the
// root, which stays a structure (member.1=x at the top is no list).
func (q *queryBuilder) input() Input {
	for k, e := range q.root {
		q.root[k] = listify(e)
	}
	return q.root
}

// listify turns {"member": {"1": a, "2": b}} into [a, b], depth first, in
// index order (the indexes need not be contiguous).
func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, e := range m {
		m[k] = listify(e)
	}
	if len(m) != 1 {
		return m
	}
	members, ok := m["member"].(map[string]any)
	if !ok {
		return m
	}
	idx := make([]int, 0, len(members))
	for k := range members {
		n, err := strconv.Atoi(k)
		if err != nil {
			return m
		}
		idx = append(idx, n)
	}
	slices.Sort(idx)
	l := make([]any, len(idx))
	for i, n := range idx {
		l[i] = members[strconv.Itoa(n)]
	}
	return l
}
