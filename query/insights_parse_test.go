package query

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cellwatch/cellwatch/internal/record"
)

// describe renders a parsed query compactly for comparison.
func (iq *insightsQuery) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%s) FROM %q", iq.fn, iq.metric, iq.namespace)
	if iq.hasSchema {
		fmt.Fprintf(&b, " SCHEMA%q", iq.schema)
	}
	if iq.where != nil {
		fmt.Fprintf(&b, " WHERE %s", describeWhere(iq.where))
	}
	if len(iq.groupBy) > 0 {
		fmt.Fprintf(&b, " GROUP%q", iq.groupBy)
	}
	if iq.orderBy != "" {
		fmt.Fprintf(&b, " ORDER %s desc=%v", iq.orderBy, iq.desc)
	}
	if iq.limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", iq.limit)
	}
	return b.String()
}

func describeWhere(n whereNode) string {
	switch n := n.(type) {
	case whereCmp:
		op := "="
		if n.neg {
			op = "!="
		}
		return fmt.Sprintf("%q%s%q", n.key, op, n.value)
	case whereBool:
		op := "AND"
		if n.or {
			op = "OR"
		}
		return "(" + describeWhere(n.l) + " " + op + " " + describeWhere(n.r) + ")"
	}
	return "?"
}

func TestParseInsights(t *testing.T) {
	for src, want := range map[string]string{
		// every clause
		`SELECT AVG(CPUUtilization) FROM "AWS/EC2"`:                                                  `AVG(CPUUtilization) FROM "AWS/EC2"`,
		`SELECT SUM(x) FROM SCHEMA(ns)`:                                                              `SUM(x) FROM "ns" SCHEMA[]`,
		`SELECT MAX(x) FROM SCHEMA(ns, b, a, b)`:                                                     `MAX(x) FROM "ns" SCHEMA["a" "b"]`,
		`SELECT MIN(x) FROM ns WHERE host = 'a'`:                                                     `MIN(x) FROM "ns" WHERE "host"="a"`,
		`SELECT COUNT(x) FROM ns WHERE a = '1' AND b != '2'`:                                         `COUNT(x) FROM "ns" WHERE ("a"="1" AND "b"!="2")`,
		`SELECT AVG(x) FROM ns WHERE a = '1' OR b = '2' AND c = '3'`:                                 `AVG(x) FROM "ns" WHERE ("a"="1" OR ("b"="2" AND "c"="3"))`,
		`SELECT AVG(x) FROM ns WHERE (a = '1' OR b = '2') AND c = '3'`:                               `AVG(x) FROM "ns" WHERE (("a"="1" OR "b"="2") AND "c"="3")`,
		`SELECT AVG(x) FROM ns GROUP BY host, az`:                                                    `AVG(x) FROM "ns" GROUP["host" "az"]`,
		`SELECT AVG(x) FROM ns ORDER BY MAX()`:                                                       `AVG(x) FROM "ns" ORDER MAX desc=false`,
		`SELECT AVG(x) FROM ns ORDER BY SUM() ASC`:                                                   `AVG(x) FROM "ns" ORDER SUM desc=false`,
		`SELECT AVG(x) FROM ns GROUP BY host ORDER BY AVG() DESC LIMIT 10`:                           `AVG(x) FROM "ns" GROUP["host"] ORDER AVG desc=true LIMIT 10`,
		`SELECT AVG(x) FROM ns LIMIT 500`:                                                            `AVG(x) FROM "ns" LIMIT 500`,
		"select avg(x)\n from ns where a = 'b' and c = 'd' group by a order by count() desc limit 3": `AVG(x) FROM "ns" WHERE ("a"="b" AND "c"="d") GROUP["a"] ORDER COUNT desc=true LIMIT 3`,
		// KEDA's query, lowercase and
		`SELECT MIN(MessageCount) FROM "AWS/AmazonMQ" WHERE Broker = 'production' and Queue = 'worker'`: `MIN(MessageCount) FROM "AWS/AmazonMQ" WHERE ("Broker"="production" AND "Queue"="worker")`,
		// quoting
		`SELECT AVG("Bytes\"Input\"") FROM "My NS"`:                   `AVG(Bytes"Input") FROM "My NS"`,
		`SELECT AVG("select") FROM "from" WHERE "where" = 'it\'s'`:    `AVG(select) FROM "from" WHERE "where"="it's"`,
		`SELECT AVG(x) FROM SCHEMA("AWS/EC2", "Instance Id")`:         `AVG(x) FROM "AWS/EC2" SCHEMA["Instance Id"]`,
		`SELECT AVG(x) FROM ns WHERE "a-b" = 'c d' GROUP BY "a-b"`:    `AVG(x) FROM "ns" WHERE "a-b"="c d" GROUP["a-b"]`,
		`SELECT AVG(x) FROM "schema"`:                                 `AVG(x) FROM "schema"`,
		`SELECT AVG(Case_1) FROM ns1`:                                 `AVG(Case_1) FROM "ns1"`,
		`  SELECT AVG(x) FROM ns WHERE a='1'`:                         `AVG(x) FROM "ns" WHERE "a"="1"`,
		`SELECT AVG(x) FROM ns WHERE a = ''`:                          `AVG(x) FROM "ns" WHERE "a"=""`,
		`SELECT AVG(x) FROM ns GROUP BY a ORDER BY MIN() ASC LIMIT 1`: `AVG(x) FROM "ns" GROUP["a"] ORDER MIN desc=false LIMIT 1`,
	} {
		iq, err := parseInsights(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := iq.describe(); got != want {
			t.Errorf("%s:\n got  %s\n want %s", src, got, want)
		}
	}
}

func TestParseInsightsErrors(t *testing.T) {
	for src, want := range map[string]string{
		`SELECT`:                                              "the query ends where a function (AVG, COUNT, MAX, MIN or SUM) is expected (at character 7)",
		`SELECT P99(x) FROM ns`:                               "the function P99 is not supported: use AVG, COUNT, MAX, MIN or SUM (at character 8)",
		`SELECT AVG x FROM ns`:                                `found x where "(" is expected (at character 12)`,
		`SELECT AVG(x) FROM AWS/EC2`:                          "unexpected character '/': a name with characters other than letters, digits and underscores must be double-quoted (at character 23)",
		`SELECT AVG(x) FROM ns.sub`:                           "the name ns.sub must be double-quoted",
		`SELECT AVG(x) FROM "ns`:                              "the quote \" is not closed (at character 20)",
		`SELECT AVG(x) FROM ns WHERE a = 'b`:                  "the quote ' is not closed",
		`SELECT AVG(x) FROM ns WHERE a = "b"`:                 `found "b" where a single-quoted value is expected`,
		`SELECT AVG(x) FROM ns WHERE a LIKE 'b%'`:             "the operator LIKE is not supported in WHERE: use = or !=",
		`SELECT AVG(x) FROM ns WHERE a IN ('b')`:              "the operator IN is not supported in WHERE",
		`SELECT AVG(x) FROM ns WHERE a <> 'b'`:                "the operator <> is not supported in WHERE",
		`SELECT AVG(x) FROM ns WHERE tag.Team = 'b'`:          "the key tag.Team filters by resource tag, which this server does not support",
		`SELECT AVG(x) FROM ns WHERE AWS.AccountId = '1'`:     "the key AWS.AccountId filters by account",
		`SELECT AVG(x) FROM ns WHERE (a = 'b'`:                `the query ends where ")" is expected`,
		`SELECT AVG(x) FROM ns WHERE`:                         "the query ends where a dimension name is expected",
		`SELECT AVG(x) FROM ns GROUP host`:                    "found host where BY is expected",
		`SELECT AVG(x) FROM ns GROUP BY`:                      "the query ends where a dimension name is expected",
		`SELECT AVG(x) FROM ns GROUP BY a,`:                   "the query ends where a dimension name is expected",
		`SELECT AVG(x) FROM ns ORDER BY AVG(x)`:               "ORDER BY takes the function with empty parentheses, as in ORDER BY AVG()",
		`SELECT AVG(x) FROM ns ORDER BY host`:                 "the function host is not supported",
		`SELECT AVG(x) FROM ns LIMIT 0`:                       "LIMIT must be between 1 and 500, not 0",
		`SELECT AVG(x) FROM ns LIMIT 501`:                     "LIMIT must be between 1 and 500, not 501",
		`SELECT AVG(x) FROM ns LIMIT ten`:                     "found ten where a number of series is expected",
		`SELECT AVG(x) FROM ns LIMIT 5 GROUP BY a`:            "found GROUP where the end of the query (clauses go in the order WHERE, GROUP BY, ORDER BY, LIMIT) is expected",
		`SELECT AVG(x) FROM ns ORDER BY AVG() GROUP BY a`:     "found GROUP where the end of the query",
		`SELECT AVG(x) FROM WHERE a = 'b'`:                    "found the keyword WHERE where a namespace or SCHEMA(...) is expected (a name that is a keyword must be double-quoted)",
		`SELECT AVG(from) FROM ns`:                            "found the keyword from where a metric name is expected",
		`SELECT AVG(*) FROM ns`:                               `found * where a metric name is expected`,
		`SELECT AVG(x), SUM(y) FROM ns`:                       `found , where FROM is expected`,
		`SELECT AVG(x) FROM schema`:                           "found the keyword schema where a namespace",
		`SELECT AVG(x) FROM SCHEMA(ns, a`:                     `the query ends where ")" is expected`,
		`SELECT AVG(x) FROM ns WHERE a = 'b' c = 'd'`:         "found c where the end of the query",
		`SELECT AVG(x) FROM ns WHERE 1 = '1'`:                 "found 1 where a dimension name is expected",
		`SELECT AVG(x) FROM ns; DROP`:                         "unexpected character ';'",
		`SELECT AVG(x) FROM ns WHERE a = 'b' AND NOT c = 'd'`: "found the keyword NOT where a dimension name is expected",
	} {
		_, err := parseInsights(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s", src, err, want)
		}
	}
}

func TestIsInsights(t *testing.T) {
	for src, want := range map[string]bool{
		"SELECT AVG(x) FROM ns": true, "  select\tAVG(x) FROM ns": true, "\nSeLeCt(": true,
		"SELECTED + 1": false, "m1 * 2": false, "SELECT": false, "": false, "SUM(SEARCH('x'))": false,
	} {
		if got := isInsights(src); got != want {
			t.Errorf("isInsights(%q) = %v; want %v", src, got, want)
		}
	}
}

func TestWhereMatch(t *testing.T) {
	dims := []record.Dimension{{Name: "az", Value: "a"}, {Name: "host", Value: "h1"}}
	for src, want := range map[string]bool{
		"host = 'h1'":               true,
		"host = 'H1'":               false, // values are case-sensitive
		"Host = 'h1'":               false, // so are keys
		"host != 'h1'":              false,
		"host != 'h2'":              true,
		"env = 'prod'":              false, // a missing key is not equal
		"env != 'prod'":             true,  // and is unequal
		"host = 'h2' OR az = 'a'":   true,
		"host = 'h2' OR az = 'b'":   false,
		"host = 'h1' AND az != 'a'": false,
		"(host = 'h2' OR az = 'a') AND host = 'h1'": true,
	} {
		iq, err := parseInsights("SELECT AVG(x) FROM ns WHERE " + src)
		if err != nil {
			t.Fatal(err)
		}
		if got := iq.where.match(dims); got != want {
			t.Errorf("%s: %v; want %v", src, got, want)
		}
	}
}
