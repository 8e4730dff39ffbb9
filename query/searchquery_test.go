package query

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// localService returns a Service on a fresh local store at now, and the store.
func localService(tb testing.TB, now time.Time) (*Service, *store.Local) {
	tb.Helper()
	clock := func() time.Time { return now }
	l, err := store.NewLocal(store.LocalConfig{Now: clock}, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return New(Config{Local: l, Now: clock}, nil), l
}

// TestSearchReadsLikeMetricStat: each SEARCH member is exactly what a
// MetricStat query of its metric answers, unknown periods included
// (PartialData), in a store whose coverage starts midway.
func TestSearchReadsLikeMetricStat(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	s, l := localService(t, now)
	m := &record.Metrics{Tenant: awsapi.DefaultTenant, Namespace: "App"}
	for i := range 10 {
		for _, host := range []string{"a", "b"} {
			m.Datums = append(m.Datums, record.Datum{MetricName: "Req", Value: float64(i), Unit: []string{"Count", "None"}[i%2],
				Timestamp: now.Add(time.Duration(i-10) * time.Minute).UnixMilli(), Dimensions: []record.Dimension{{Name: "Host", Value: host}}})
		}
	}
	l.Apply(m)
	// Covered from five minutes ago only: the first half is unknown.
	for ms := now.Add(-5 * time.Minute).UnixMilli(); ms <= now.UnixMilli(); ms += 1000 {
		l.ApplyLiveness(record.Liveness{UnixMs: ms})
	}
	start, end := now.Add(-10*time.Minute), now
	view, err := s.view("", nil, start.Unix(), end.Unix())
	if err != nil {
		t.Fatal(err)
	}
	search := dataQuery{id: "s", returnData: true}
	if err := parseExpression(`SEARCH('{App,Host} Req', 'Sum', 120)`, "Expression", &search); err != nil {
		t.Fatal(err)
	}
	queries := []dataQuery{search}
	for _, host := range []string{"a", "b"} {
		queries = append(queries, dataQuery{id: "m" + host, returnData: true, stat: mustStat(t, "Sum"), period: 120,
			metric: metricRef{namespace: "App", name: "Req", dims: []record.Dimension{{Name: "Host", Value: host}}}})
	}
	labelQueries(queries)
	var used answered
	results, err := s.runQueries(view, awsapi.DefaultTenant, queries, start, end, scanAscending, &used)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("got %d results; want 2 SEARCH members and 2 MetricStat", len(results))
	}
	for i, host := range []string{"a", "b"} {
		got, want := results[i], results[2+i]
		if got.id != "s" || got.label != host || !slices.Equal(got.times, want.times) || !slices.Equal(got.values, want.values) ||
			!got.unknown || !want.unknown || len(got.times) != 5 {
			t.Errorf("member %s: got %+v; want the MetricStat's %+v, 5 periods, both unknown", host, got, want)
		}
	}
	if len(used.unknown) == 0 {
		t.Error("no unknown interval reported")
	}
}

func TestSearchNotInAlarms(t *testing.T) {
	_, err := ValidateQueries([]MetricQuery{{ID: "e1", Expression: `SUM(SEARCH('{App,Host} Req', 'Sum', 60))`}})
	var ae *awsapi.Error
	if !errors.As(err, &ae) || ae.Code != "InvalidParameterValue" || ae.Message != "The parameter Metrics.member.1.Expression is invalid: SEARCH expressions are not allowed in alarms." {
		t.Errorf("got %v; want InvalidParameterValue: SEARCH expressions are not allowed in alarms", err)
	}
}

// TestSearchLabelsUniqueInRequest: two SEARCHes over the same metrics with
// other statistics label their series "<label> <stat>".
func TestSearchLabelsUniqueInRequest(t *testing.T) {
	now := time.Unix(1_767_225_600, 0)
	s, l := localService(t, now)
	m := &record.Metrics{Tenant: awsapi.DefaultTenant, Namespace: "App"}
	for _, host := range []string{"a", "b"} {
		m.Datums = append(m.Datums, record.Datum{MetricName: "Req", Value: 1, Timestamp: now.Add(-time.Minute).UnixMilli(),
			Dimensions: []record.Dimension{{Name: "Host", Value: host}}})
	}
	l.Apply(m)
	var queries []dataQuery
	for _, src := range []struct{ id, expr, label string }{
		{"s1", `SEARCH('{App,Host} Req', 'Sum', 60)`, ""},
		{"s2", `SEARCH('{App,Host} Req', 'Average', 60)`, ""},
		{"s3", `SEARCH('{App,Host} Host=a', 'Maximum', 60)`, "mine"},
	} {
		q := dataQuery{id: src.id, label: src.label, returnData: true}
		if err := parseExpression(src.expr, "Expression", &q); err != nil {
			t.Fatal(err)
		}
		queries = append(queries, q)
	}
	labelQueries(queries)
	view, err := s.view("", nil, now.Add(-10*time.Minute).Unix(), now.Unix())
	if err != nil {
		t.Fatal(err)
	}
	var used answered
	results, err := s.runQueries(view, awsapi.DefaultTenant, queries, now.Add(-10*time.Minute), now, scanAscending, &used)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		got = append(got, r.id+":"+r.label)
	}
	if want := []string{"s1:a Sum", "s1:b Sum", "s2:a Average", "s2:b Average", "s3:mine a"}; !slices.Equal(got, want) {
		t.Errorf("got labels %q; want %q", got, want)
	}
}

func mustStat(t *testing.T, name string) statistic {
	t.Helper()
	st, ok := parseStat(name)
	if !ok {
		t.Fatalf("statistic %q does not parse", name)
	}
	return st
}
