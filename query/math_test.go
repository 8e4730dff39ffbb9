package query

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func TestParseMath(t *testing.T) {
	for src, want := range map[string]string{
		"m1 + m2":                      "(m1 + m2)",
		"m1 + m2 * 2":                  "(m1 + (m2 * 2))",
		"(m1 + m2) * 2":                "((m1 + m2) * 2)",
		"m1 - m2 - m3":                 "((m1 - m2) - m3)",
		"2 ^ 3 ^ 2":                    "(2 ^ (3 ^ 2))",
		"-m1 ^ 2":                      "(-(m1 ^ 2))",
		"-3 * m1":                      "(-3 * m1)",
		"m1 / 1e3":                     "(m1 / 1000)",
		"SUM([m1, m2])":                "SUM([m1, m2])",
		"sum(METRICS())":               "SUM(METRICS())",
		`AVG(METRICS("m"))`:            `AVG(METRICS("m"))`,
		"FILL(m1, REPEAT)":             "FILL(m1, REPEAT)",
		"IF(m1 > 5, 1, 0)":             "IF((m1 > 5), 1, 0)",
		"IF(m1 + 1 >= m2, m1)":         "IF(((m1 + 1) >= m2), m1)",
		"m1 != 0":                      "(m1 != 0)",
		"m1 > 1 AND m2 < 2 || m1 == 0": "(((m1 > 1) AND (m2 < 2)) OR (m1 == 0))",
		"m1 OR m2 && m3":               "(m1 OR (m2 AND m3))",
		"e1 - MIN(e1)":                 "(e1 - MIN(e1))",
	} {
		t.Run(src, func(t *testing.T) {
			n, err := parseMath(src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := n.String(); got != want {
				t.Errorf("got %s; want %s", got, want)
			}
		})
	}
}

func TestParseMathErrors(t *testing.T) {
	for src, want := range map[string]string{
		"m1 +":                 "ends where a value is expected",
		"(m1 + m2":             `ends where ")" is expected`,
		"m1 m2":                `unexpected "m2" at position 4`,
		"M1 + 1":               `"M1" at position 1, which is neither an Id`,
		"m1 $ 2":               `unexpected character "$"`,
		"SUM([])":              "empty list",
		"SELECT AVG(x) FROM y": "Metrics Insights",
		`METRICS("m`:           "unterminated string",
	} {
		t.Run(src, func(t *testing.T) {
			_, err := parseMath(src)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v; want an error with %q", err, want)
			}
		})
	}
}

// sr builds a series from time:value pairs.
func sr(pairs ...float64) mathSeries {
	var s mathSeries
	for i := 0; i < len(pairs); i += 2 {
		s.times = append(s.times, int64(pairs[i]))
		s.values = append(s.values, pairs[i+1])
	}
	return s
}

func render(v mathValue) string {
	one := func(s mathSeries) string {
		parts := make([]string, len(s.times))
		for i, t := range s.times {
			parts[i] = fmt.Sprintf("%d:%g", t, s.values[i])
		}
		return strings.Join(parts, " ")
	}
	switch v.kind {
	case kindScalar:
		return fmt.Sprintf("%g", v.scalar)
	case kindSeries:
		return "{" + one(v.series) + "}"
	case kindList:
		parts := make([]string, len(v.list))
		for i, s := range v.list {
			parts[i] = "{" + one(s) + "}"
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return v.kindName()
}

func TestEvalMath(t *testing.T) {
	env := &mathEnv{
		series: map[string]mathSeries{
			"m1":    sr(0, 1, 60, 2, 120, 4, 240, 8),
			"m2":    sr(0, 10, 120, 20, 180, 30),
			"other": sr(60, 100),
			"empty": sr(),
		},
		metricIDs: []string{"m1", "m2", "other"},
		grid:      func() []int64 { return []int64{0, 60, 120, 180, 240} },
		period:    60,
	}
	for src, want := range map[string]string{
		"1 + 2 * 3":                   "7",
		"m1 + m2":                     "{0:11 120:24}", // timestamps missing on one side have no point
		"m1 * 2 + 1":                  "{0:3 60:5 120:9 240:17}",
		"10 - m1":                     "{0:9 60:8 120:6 240:2}",
		"-m1":                         "{0:-1 60:-2 120:-4 240:-8}",
		"m1 ^ 2":                      "{0:1 60:4 120:16 240:64}",
		"m1 / (m1 - 2)":               "{0:-1 120:2 240:1.3333333333333333}", // x/0 leaves no point
		"m2 - m1 * 2":                 "{0:8 120:12}",
		"SUM([m1, m2])":               "{0:11 60:2 120:24 180:30 240:8}",
		"SUM(METRICS())":              "{0:11 60:102 120:24 180:30 240:8}",
		`SUM(METRICS("m"))`:           "{0:11 60:2 120:24 180:30 240:8}",
		"AVG([m1, m2])":               "{0:5.5 60:2 120:12 180:30 240:8}",
		"MIN([m1, m2])":               "{0:1 60:2 120:4 180:30 240:8}",
		"MAX([m1, m2])":               "{0:10 60:2 120:20 180:30 240:8}",
		"SAMPLE_COUNT([m1, m2])":      "{0:2 60:1 120:2 180:1 240:1}",
		"SUM(m1)":                     "15",
		"AVG(m1)":                     "3.75",
		"MIN(m1)":                     "1",
		"MAX(m1)":                     "8",
		"SAMPLE_COUNT(m1)":            "4",
		"STDDEV(m1)":                  "2.680951323690902",
		"STDDEV([m1, m2])":            "{0:4.5 60:0 120:8 180:0 240:0}",
		"m1 / PERIOD(m1)":             "{0:0.016666666666666666 60:0.03333333333333333 120:0.06666666666666667 240:0.13333333333333333}",
		"DIFF_TIME(m1)":               "{60:60 120:60 240:120}",
		"TIME_SERIES(3)":              "{0:3 60:3 120:3 180:3 240:3}",
		"TIME_SERIES(m2)":             "{0:10 120:20 180:30}",
		"m1 - AVG(m1)":                "{0:-2.75 60:-1.75 120:0.25 240:4.25}",
		"METRICS()":                   "[{0:1 60:2 120:4 240:8} {0:10 120:20 180:30} {60:100}]",
		"METRICS() * 2":               "[{0:2 60:4 120:8 240:16} {0:20 120:40 180:60} {60:200}]",
		"FILL(m1, 0)":                 "{0:1 60:2 120:4 180:0 240:8}",
		"FILL(m2, -1)":                "{0:10 60:-1 120:20 180:30 240:-1}",
		"FILL(m2, REPEAT)":            "{0:10 60:10 120:20 180:30 240:30}",
		"FILL(m2, LINEAR)":            "{0:10 60:15 120:20 180:30 240:30}",
		"FILL(other, REPEAT)":         "{0:100 60:100 120:100 180:100 240:100}",
		"FILL(empty, 7)":              "{0:7 60:7 120:7 180:7 240:7}",
		"FILL(empty, LINEAR)":         "{}",
		"FILL(METRICS('m'), 0)":       "[{0:1 60:2 120:4 180:0 240:8} {0:10 60:0 120:20 180:30 240:0}]",
		"RATE(m1)":                    "{60:0.016666666666666666 120:0.03333333333333333 240:0.03333333333333333}",
		"DIFF(m1)":                    "{60:1 120:2 240:4}",
		"DIFF(m2)":                    "{120:10 180:10}",
		"IF(m1 > 2, 1, 0)":            "{0:0 60:0 120:1 240:1}",
		"IF(m1 >= 2, m1)":             "{60:2 120:4 240:8}",
		"IF(m1 < 4, m2, 0)":           "{0:10 120:0 240:0}", // m2 has no point at 60
		"IF(m1 == 4 , 100, m1)":       "{0:1 60:2 120:100 240:8}",
		"IF(1, m1, m2)":               "{0:1 60:2 120:4 240:8}",
		"m1 != 2":                     "{0:1 60:0 120:1 240:1}",
		"m1 <= 2":                     "{0:1 60:1 120:0 240:0}",
		"IF(m1 > 1 AND m1 < 8, m1)":   "{60:2 120:4}",
		"IF(m1 < 2 || m1 > 4, m1, 0)": "{0:1 60:0 120:0 240:8}",
		"ABS(-m1) + FLOOR(m1 / 3)":    "{0:1 60:2 120:5 240:10}",
		"SQRT(m1 * m1)":               "{0:1 60:2 120:4 240:8}",
		"SUM([m1, FILL(m2, 0)]) / 2":  "{0:5.5 60:1 120:12 180:15 240:4}",
	} {
		t.Run(src, func(t *testing.T) {
			n, err := parseMath(src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			v, err := env.eval(n)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if got := render(v); got != want {
				t.Errorf("got %s; want %s", got, want)
			}
		})
	}
}

func TestEvalMathErrors(t *testing.T) {
	env := &mathEnv{series: map[string]mathSeries{"m1": sr(0, 1)}, metricIDs: []string{"m1"}, grid: func() []int64 { return []int64{0} }}
	for src, want := range map[string]string{
		"ANOMALY_DETECTION_BAND(m1, 2)": "The function ANOMALY_DETECTION_BAND is not supported by this server",
		"m9 + 1":                        "The Id m9 used in the expression is not defined",
		"FILL(m1)":                      "FILL takes 2 argument(s), not 1",
		"FILL(1, 0)":                    "FILL takes a time series first",
		"FILL(m1, m1)":                  "must be a number, REPEAT or LINEAR",
		"RATE(3)":                       "RATE takes a time series",
		"METRICS() + METRICS()":         "cannot take two arrays",
		"m1 + REPEAT":                   "cannot take a keyword",
		"METRICS(m1)":                   "must be a quoted string",
		"IF(METRICS(), 1, 0)":           "IF takes numbers and time series",
		"[m1, 2]":                       "holds time series only",
	} {
		t.Run(src, func(t *testing.T) {
			n, err := parseMath(src)
			if err == nil {
				_, err = env.eval(n)
			}
			var ae *awsapi.Error
			if !errors.As(err, &ae) || ae.Code != "InvalidParameterValue" || !strings.Contains(ae.Message, want) {
				t.Errorf("got %v; want InvalidParameterValue with %q", err, want)
			}
		})
	}
}

func mq(id string, period int64, expr string) dataQuery {
	q := dataQuery{id: id, period: period, returnData: true}
	if expr != "" {
		n, err := parseMath(expr)
		if err != nil {
			panic(err)
		}
		q.ast, q.period = n, 0
	}
	return q
}

func TestPlanMath(t *testing.T) {
	for name, tc := range map[string]struct {
		queries []dataQuery
		order   string // Ids of the expressions in evaluation order
		err     string
	}{
		"chain":           {[]dataQuery{mq("e2", 0, "e1 * 2"), mq("e1", 0, "m1 + m2"), mq("m1", 60, ""), mq("m2", 60, "")}, "e1 e2", ""},
		"metrics prefix":  {[]dataQuery{mq("e1", 0, `SUM(METRICS("a"))`), mq("a1", 60, ""), mq("b1", 300, "")}, "e1", ""},
		"periods differ":  {[]dataQuery{mq("e1", 0, "m1 + m2"), mq("m1", 60, ""), mq("m2", 300, "")}, "", "must share one period: m1 has 60 seconds and m2 has 300"},
		"all metrics":     {[]dataQuery{mq("e1", 0, "SUM(METRICS())"), mq("m1", 60, ""), mq("m2", 300, "")}, "", "must share one period"},
		"unknown Id":      {[]dataQuery{mq("e1", 0, "m1 + m9"), mq("m1", 60, "")}, "", "uses the Id m9, which no query of the request has"},
		"cycle":           {[]dataQuery{mq("e1", 0, "e2 + m1"), mq("e2", 0, "e1 * 2"), mq("m1", 60, "")}, "", "cycle: e1 -> e2 -> e1"},
		"self reference":  {[]dataQuery{mq("e1", 0, "e1 + 1")}, "", "cycle: e1 -> e1"},
		"constant only":   {[]dataQuery{mq("e1", 0, "1 + 2")}, "", "uses no metric"},
		"no metrics left": {[]dataQuery{mq("e1", 0, `SUM(METRICS("z"))`), mq("m1", 60, "")}, "", "uses no metric"},
	} {
		t.Run(name, func(t *testing.T) {
			plan, err := planMath(tc.queries)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v; want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, i := range plan.order {
				ids = append(ids, tc.queries[i].id)
			}
			if got := strings.Join(ids, " "); got != tc.order {
				t.Errorf("order %q; want %q", got, tc.order)
			}
		})
	}
}

func TestLabelsOfExpressions(t *testing.T) {
	qs := []dataQuery{mq("m1", 60, ""), mq("e1", 0, "m1 * 2"), mq("m2", 60, "")}
	qs[0].metric.name, qs[2].metric.name = "cpu", "mem"
	qs[0].stat, qs[2].stat = statistic{name: "Sum"}, statistic{name: "Sum"}
	labelQueries(qs)
	if got := qs[0].label + "|" + qs[1].label + "|" + qs[2].label; got != "cpu|e1|mem" {
		t.Errorf("labels %q; want cpu|e1|mem (an expression's label is its Id and does not count as a differing stat)", got)
	}
}

func TestParseExpressionLength(t *testing.T) {
	var q dataQuery
	if err := parseExpression(strings.Repeat("m", 2049), "MetricDataQueries.member.1.Expression", &q); err == nil {
		t.Error("an expression of 2049 characters was accepted")
	}
	if err := parseExpression("", "MetricDataQueries.member.1.Expression", &q); err == nil {
		t.Error("an empty expression was accepted")
	}
}

func FuzzParseMath(f *testing.F) {
	for _, seed := range []string{"m1 + m2 * 2", "SUM(METRICS(\"a\"))", "IF(m1 > 1 AND m2 < 2, 1, 0)", "FILL(m1, LINEAR)", "((", "-", "1e", "[m1,]", "m1 ^ -2 ^ 3"} {
		f.Add(seed)
	}
	env := &mathEnv{series: map[string]mathSeries{"m1": sr(0, 1, 60, 0), "m2": sr(60, 3)}, metricIDs: []string{"m1", "m2"},
		grid: func() []int64 { return []int64{0, 60} }, period: 60}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := parseMath(src)
		if err != nil {
			return
		}
		if _, err := parseMath(n.String()); err != nil {
			t.Errorf("%q parsed as %s, which does not parse: %v", src, n, err)
		}
		_, _ = env.eval(n) // must not panic
	})
}
