package query

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

func TestTokenize(t *testing.T) {
	for in, want := range map[string]string{
		"CustomCount1":      "Custom Count 1",
		"SDBFailure":        "SDB Failure",
		"Project2-trial333": "Project 2 trial 333",
		"Network-Errors-2":  "Network Errors 2",
		"AWS/EC2":           "AWS EC 2",
		"i-0abc12":          "i 0 abc 12",
		"--//":              "",
		"ReadIOPS":          "Read IOPS",
	} {
		var got []string
		for _, s := range tokenize(in, nil) {
			got = append(got, in[s.lo:s.hi])
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("tokenize(%q) = %q; want %q", in, g, want)
		}
	}
}

func searchKey(ns, name string, kv ...string) *store.SeriesKey {
	k := &store.SeriesKey{Tenant: "t1", Namespace: ns, MetricName: name}
	for i := 0; i+1 < len(kv); i += 2 {
		k.Dimensions = append(k.Dimensions, record.Dimension{Name: kv[i], Value: kv[i+1]})
	}
	record.SortDimensions(k.Dimensions)
	return k
}

// searchCorpus is the set of metrics the matcher tests search.
var searchCorpus = map[string]*store.SeriesKey{
	"cc1":      searchKey("App", "CustomCount1"),
	"sdb":      searchKey("App", "SDBFailure"),
	"proj":     searchKey("App", "Jobs", "Project", "Project2-trial333"),
	"neterr":   searchKey("Net", "Network-Errors-2"),
	"neterr2":  searchKey("Net", "NetworkErrors2"),
	"cpu-a":    searchKey("AWS/EC2", "CPUUtilization", "InstanceId", "i-a"),
	"cpu-b":    searchKey("AWS/EC2", "CPUUtilization", "InstanceId", "i-b"),
	"cpu-type": searchKey("AWS/EC2", "CPUUtilization", "InstanceType", "t3.micro"),
	"net-a":    searchKey("AWS/EC2", "NetworkIn", "InstanceId", "i-a"),
	"cpu-asg":  searchKey("AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "web", "InstanceId", "i-c"),
	"lam-err":  searchKey("AWS/Lambda", "Errors", "FunctionName", "ProjectA-f"),
	"lam-inv":  searchKey("AWS/Lambda", "Invocations", "FunctionName", "ProjectB-g"),
	"lam-dur":  searchKey("AWS/Lambda", "Duration", "FunctionName", "ProjectA-f"),
	"space":    searchKey("My App", "Odd \"name\"", "Dim (x)", "v"),
	"and":      searchKey("App", "and"),
}

func TestSearchMatch(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		// schema: namespace and the exact dimension-name set
		{`{AWS/EC2,InstanceId} CPUUtilization`, "cpu-a cpu-b"},
		{`{AWS/EC2, InstanceId}, MetricName="CPUUtilization"`, "cpu-a cpu-b"},
		{`{"AWS/EC2","InstanceId"} MetricName="CPUUtilization" "InstanceId"=("i-a" OR "i-c")`, "cpu-a"},
		{`{AWS/EC2,InstanceId,AutoScalingGroupName}`, "cpu-asg"},
		{`{AWS/EC2,InstanceType}`, "cpu-type"},
		{`{App}`, "and cc1 sdb"},
		{`{"My App","Dim (x)"}`, "space"},
		// free text: any of namespace, metric name, dimension names and values
		{`CPUUtilization`, "cpu-a cpu-asg cpu-b cpu-type"},
		{`Namespace="AWS/EC2" MetricName="CPUUtilization" "InstanceId"`, "cpu-a cpu-asg cpu-b"},
		{`InstanceType=micro`, "cpu-type"},
		{`i-a`, "cpu-a net-a"},
		// partial tokens: one token case-insensitive, several case-sensitive
		{`count`, "cc1"},
		{`COUNT`, "cc1"},
		{`couNT`, ""},
		{`CustomCount`, "cc1"},
		{`Count1`, "cc1"},
		{`count1`, ""},
		{`customcount`, ""},
		{`customcount1`, "cc1"},
		{`sdb`, "sdb"},
		{`failure`, "sdb"},
		{`trial`, "proj"},
		{`project2trial333`, "proj"},
		{`network/errors`, "neterr neterr2"},
		{`network+errors`, "neterr neterr2"},
		{`Network_Errors`, "neterr neterr2"},
		// exact: the whole property, case and punctuation
		{`"Network-Errors-2"`, "neterr"},
		{`"Network_Errors_2"`, ""},
		{`"network-errors-2"`, ""},
		{`"Odd \"name\""`, "space"},
		{`"Dim \(x\)"=v`, "space"},
		{`MetricName="CPU"`, ""},
		// AND, OR, NOT, parentheses, precedence
		{`Namespace="AWS/Lambda" MetricName="Errors" OR (MetricName="Invocations" AND (ProjectA OR ProjectB))`, "lam-err lam-inv"},
		{`Namespace="AWS/Lambda" AND NOT MetricName="Errors"`, "lam-dur lam-inv"},
		{`NOT Namespace=AWS`, "and cc1 neterr neterr2 proj sdb space"},
		{`NOT Namespace=AWS NOT Namespace=App`, "neterr neterr2"}, // "My App" has the token App
		{`Errors OR Duration ProjectA`, "lam-dur lam-err neterr neterr2"},
		{`NOT Namespace="App"`, "cpu-a cpu-asg cpu-b cpu-type lam-dur lam-err lam-inv net-a neterr neterr2 space"},
		{`{AWS/Lambda,FunctionName} NOT NOT Errors`, "lam-err"},
		{`and`, "and"},
		{`"and"`, "and"},
		{`:aws.AccountId = 'LOCAL' CPUUtilization InstanceType`, "cpu-type"},
		{`:aws.AccountId = "999" CPUUtilization`, ""},
	} {
		q, err := parseSearch(tc.body, 0)
		if err != nil {
			t.Errorf("parseSearch(%s): %v", tc.body, err)
			continue
		}
		var got []string
		for name, key := range searchCorpus {
			if q.matches(&searchMetric{key: key, tenant: "t1"}) {
				got = append(got, name)
			}
		}
		slices.Sort(got)
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("SEARCH %s: got %q; want %q", tc.body, g, tc.want)
		}
	}
}

func TestSearchParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`SEARCH('', 'Sum', 60)`, "the search expression is empty"},
		{`SEARCH('{AWS/EC2', 'Sum', 60)`, `ends where "," or "}" in the schema opened at position 9 is expected`},
		{`SEARCH('{AWS/EC2,} x', 'Sum', 60)`, `unexpected "}" at position 18 where a namespace or dimension name is expected`},
		{`SEARCH('a OR', 'Sum', 60)`, "ends where a search term is expected"},
		{`SEARCH('(a OR b', 'Sum', 60)`, `ends where ")" closing the "(" at position 9 is expected`},
		{`SEARCH('a)', 'Sum', 60)`, `unexpected ")" at position 10`},
		{`SEARCH('"abc', 'Sum', 60)`, "the quoted term at position 9 is not terminated"},
		{`SEARCH('MetricName=', 'Sum', 60)`, "ends where a value for MetricName is expected"},
		{`SEARCH('Dim=(a AND b)', 'Sum', 60)`, `"OR" or ")" in the values of Dim`},
		{`SEARCH('AND x', 'Sum', 60)`, `unexpected "AND" at position 9 where a search term is expected`},
		{`SEARCH('a = b = c', 'Sum', 60)`, `unexpected "="`},
		{`SEARCH('x -- y', 'Sum', 60)`, `the search term "--" at position 11 has no letters or digits`},
		{`SEARCH('x', 'Median', 60)`, `the statistic "Median" of SEARCH is not supported`},
		{`SEARCH('x', 'Sum', 45)`, "the period 45 of SEARCH must be"},
		{`SEARCH('x')`, "not 1 argument(s)"},
		{`SEARCH(m1, 'Sum')`, "must be a quoted search expression"},
		{`SEARCH('` + strings.Repeat("a", 1025) + `', 'Sum', 60)`, "1025 characters; at most 1024"},
	} {
		var q dataQuery
		q.id = "e1"
		err := parseExpression(tc.expr, "MetricDataQueries.member.1.Expression", &q)
		var ae *awsapi.Error
		if !errors.As(err, &ae) || ae.Code != "ValidationError" || ae.Status != 400 ||
			!strings.HasPrefix(ae.Message, "Invalid SEARCH expression in query e1: ") || !strings.Contains(ae.Message, tc.want) {
			t.Errorf("%s: got %v; want a 400 ValidationError for query e1 with %q", tc.expr, err, tc.want)
		}
	}
}

func TestSearchCallForms(t *testing.T) {
	for expr, want := range map[string]string{
		`SEARCH('{AWS/EC2,InstanceId} CPUUtilization', 'Average', 300)`: `SEARCH("{AWS/EC2,InstanceId} CPUUtilization", "Average", 300)`,
		`search(' x ', 'p99')`:                                     `SEARCH(" x ", "p99")`,
		`SUM(SEARCH('x', 'Sum', 60))`:                              `SUM(SEARCH("x", "Sum", 60))`,
		`REMOVE_EMPTY(SEARCH('{"A","B"} "B"="it\'s"', 'Sum', 60))`: `REMOVE_EMPTY(SEARCH("{\"A\",\"B\"} \"B\"=\"it\\'s\"", "Sum", 60))`,
		`AVG(SEARCH('{AWS/EC2,InstanceId} MetricName="CPUUtilization"', 'Maximum', 60)) * 2`: `(AVG(SEARCH("{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"", "Maximum", 60)) * 2)`,
	} {
		n, err := parseMath(expr)
		if err != nil {
			t.Errorf("parseMath(%s): %v", expr, err)
			continue
		}
		if got := n.String(); got != want {
			t.Errorf("parseMath(%s) = %s; want %s", expr, got, want)
		}
	}
	// Grafana's escaped quote reaches the matcher unescaped.
	n, _ := parseMath(`SEARCH('{"A","B"} "B"="it\'s"', 'Sum', 60)`)
	if q := n.(searchNode).query; !q.matches(&searchMetric{key: searchKey("A", "m", "B", "it's")}) {
		t.Errorf("escaped quote: %s does not match B=it's", n)
	}
}

func TestSearchLabels(t *testing.T) {
	lm := func(name string, kv ...string) listedMetric {
		k := searchKey("AWS/EC2", name, kv...)
		return listedMetric{namespace: k.Namespace, name: k.MetricName, dims: k.Dimensions}
	}
	for _, tc := range []struct {
		schema string
		found  []listedMetric
		want   []string
	}{
		{`{AWS/EC2,InstanceId}`, []listedMetric{lm("CPU", "InstanceId", "i-1"), lm("CPU", "InstanceId", "i-2")}, []string{"i-1", "i-2"}},
		{`{AWS/EC2,InstanceId}`, []listedMetric{lm("CPU", "InstanceId", "i-1"), lm("Net", "InstanceId", "i-1")}, []string{"CPU", "Net"}},
		{`{AWS/EC2,InstanceId}`, []listedMetric{lm("CPU", "InstanceId", "i-1")}, []string{"i-1"}},
		{`{AWS/EC2,Z,A}`, []listedMetric{lm("CPU", "Z", "z1", "A", "a1"), lm("CPU", "Z", "z2", "A", "a2")}, []string{"z1 a1", "z2 a2"}},
		{`{AWS/EC2,Z,A}`, []listedMetric{lm("CPU", "Z", "z", "A", "a1"), lm("CPU", "Z", "z", "A", "a2")}, []string{"a1", "a2"}},
		{`x`, []listedMetric{lm("CPU"), lm("CPU", "B", "b")}, []string{"CPU", "b"}},
		{`x`, []listedMetric{lm("CPU")}, []string{"CPU"}},
	} {
		q, err := parseSearch(tc.schema, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := searchLabels(q, tc.found); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got labels %q; want %q", tc.schema, got, tc.want)
		}
	}
}

func TestRemoveEmptySearch(t *testing.T) {
	env := &mathEnv{search: func(searchNode) ([]mathSeries, error) {
		return []mathSeries{{label: "empty"}, {times: []int64{60}, values: []float64{2}, label: "full"}}, nil
	}}
	for expr, want := range map[string][]string{
		`SEARCH('x', 'Sum', 60)`:                   {"empty", "full"},
		`REMOVE_EMPTY(SEARCH('x', 'Sum', 60))`:     {"full"},
		`REMOVE_EMPTY(SEARCH('x', 'Sum', 60) * 2)`: {"full"},
	} {
		n, err := parseMath(expr)
		if err != nil {
			t.Fatal(err)
		}
		v, err := env.eval(n)
		if err != nil || v.kind != kindList {
			t.Fatalf("%s: got %v, %v; want an array", expr, v, err)
		}
		var got []string
		for _, s := range v.list {
			got = append(got, s.label)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got members %q; want %q", expr, got, want)
		}
	}
}
