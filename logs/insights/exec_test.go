package insights

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fixture reads testdata/requests.txt: stream, seconds, message per line.
func fixture(t testing.TB) []Event {
	t.Helper()
	f, err := os.Open("testdata/requests.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		sec, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, Event{Timestamp: sec * 1000, IngestionTime: sec*1000 + 1, Message: parts[2], Stream: parts[0], Group: "app"})
	}
	return evs
}

// show renders result rows compactly: name=value, times shortened to
// seconds past the minute, @ptr left out.
func show(rows [][]Field) []string {
	out := []string{}
	for _, row := range rows {
		var b []string
		for _, f := range row {
			if f.Name == "@ptr" {
				continue
			}
			b = append(b, f.Name+"="+strings.TrimPrefix(f.Value, "1970-01-01 00:00:"))
		}
		out = append(out, strings.Join(b, " "))
	}
	return out
}

func runQuery(t testing.TB, query string, opts Options, evs []Event) *Run {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	r := q.NewRun(opts)
	for i := range evs {
		if !r.Add(&evs[i]) {
			break
		}
	}
	return r
}

// execCases are real queries over the fixture and their exact results.
var execCases = []struct {
	name, query string
	want        []string
}{
	{"default order is @timestamp desc across streams", "fields @timestamp, host | limit 3",
		[]string{"@timestamp=55.000 host=c", "@timestamp=50.000 host=a", "@timestamp=45.000"}},
	{"no fields shows the system fields", "filter host = 'c' | limit 1",
		[]string{"@timestamp=55.000 @message={\"host\":\"c\",\"status\":200,\"latency\":8,\"user\":\"u5\"} @logStream=s2 @log=123456789012:app @ingestionTime=55.001"}},
	{"sort numbers numerically", "fields host, latency | sort latency desc | limit 3",
		[]string{"host=a latency=900", "host=b latency=700", "host=b latency=250"}},
	{"sort two keys", "fields host, latency | sort host asc, latency desc | limit 6",
		[]string{"host=a latency=900", "host=a latency=45", "host=a latency=30", "host=a latency=12", "host=b latency=700", "host=b latency=250"}},
	{"missing sort values last, ties newest first", "fields @timestamp, host | sort host",
		[]string{"@timestamp=50.000 host=a", "@timestamp=30.000 host=a", "@timestamp=25.000 host=a", "@timestamp=10.000 host=a",
			"@timestamp=35.000 host=b", "@timestamp=20.000 host=b", "@timestamp=15.000 host=b",
			"@timestamp=55.000 host=c", "@timestamp=40.000 host=c", "@timestamp=45.000"}},
	{"missing values last in desc too", "fields host | sort host desc | limit 4",
		[]string{"host=c", "host=c", "host=b", "host=b"}},
	{"a later sort orders first, the earlier breaks ties", "fields host, status | sort status desc | sort host | limit 4",
		[]string{"host=a status=500", "host=a status=200", "host=a status=200", "host=a status=200"}},
	{"filter between sort and limit", "fields latency | sort latency | filter latency > 10 | limit 2",
		[]string{"latency=12", "latency=20"}},
	{"dedup keeps the newest by default", "fields @timestamp, host | dedup host",
		[]string{"@timestamp=55.000 host=c", "@timestamp=50.000 host=a", "@timestamp=45.000", "@timestamp=35.000 host=b"}},
	{"dedup keeps rows with a null field", "fields @timestamp, user | dedup user",
		[]string{"@timestamp=55.000 user=u5", "@timestamp=50.000 user=u3", "@timestamp=45.000", "@timestamp=40.000",
			"@timestamp=35.000 user=u2", "@timestamp=30.000 user=u1", "@timestamp=25.000 user=u4"}},
	{"dedup in sort order, then limit", "fields host, latency | sort latency asc | dedup host | limit 2",
		[]string{"host=c latency=5", "host=a latency=12"}},
	{"dedup two fields", "fields host, status | filter ispresent(host) | dedup host, status",
		[]string{"host=c status=200", "host=a status=500", "host=c status=404", "host=b status=503", "host=a status=200", "host=b status=500", "host=b status=200"}},
	{"display projects", "fields host, latency, status | display host, status | limit 2",
		[]string{"host=c status=200", "host=a status=500"}},
	{"only the last display counts", "display host | fields latency | display latency, host | limit 1",
		[]string{"latency=8 host=c"}},
	{"parse names join the fields projection", "fields @timestamp | parse @message '\"user\":\"*\"' as who | limit 2",
		[]string{"@timestamp=55.000 who=u5", "@timestamp=50.000 who=u3"}},
	{"limit then sort", "fields latency | limit 3 | sort latency asc",
		[]string{"latency=8", "latency=900", ""}}, // the newest three: 55 (8), 50 (900), 45 (none, last)
	{"limit then fields", "limit 2 | fields strlen(user) * 10 as n | display n",
		[]string{"n=20", "n=20"}},

	{"count(*), count(field), count_distinct", "stats count(*) as n, count(user) as u, count_distinct(user) as d by host | sort n desc",
		[]string{"host=a n=4 u=4 d=3", "host=b n=3 u=3 d=2", "host=c n=2 u=1 d=1", "n=1 u=0 d=0"}},
	{"pct is nearest-rank", "stats pct(latency, 0) as p0, pct(latency, 25) as p25, pct(latency, 50) as p50, pct(latency, 60) as p60, pct(latency, 90) as p90, pct(latency, 100) as p100",
		[]string{"p0=5 p25=12 p50=30 p60=45 p90=900 p100=900"}},
	{"percentile is pct", "stats percentile(latency, 50) by host | sort host",
		[]string{"host=a percentile(latency, 50)=30", "host=b percentile(latency, 50)=250", "host=c percentile(latency, 50)=5", ""}},
	{"sum avg min max", "stats sum(latency) as s, avg(latency) as a, min(latency) as lo, max(latency) as hi by host | sort host",
		[]string{"host=a s=987 a=246.75 lo=12 hi=900", "host=b s=970 a=323.3333333333333 lo=20 hi=700", "host=c s=13 a=6.5 lo=5 hi=8", ""}},
	{"earliest latest sortsFirst sortsLast", "stats earliest(latency) as e, latest(latency) as l, sortsFirst(user) as f, sortsLast(user) as z by host | filter ispresent(host) | sort host",
		[]string{"host=a e=12 l=900 f=u1 z=u4", "host=b e=20 l=700 f=u1 z=u2", "host=c e=5 l=8 f=u5 z=u5"}},
	{"filter sort limit after stats", "stats count(*) as c by host | filter c > 1 | sort c asc | limit 5",
		[]string{"host=c c=2", "host=b c=3", "host=a c=4"}},
	{"sort by an aggregate's text", "stats count(*) by host | sort count(*) desc | limit 2",
		[]string{"host=a count(*)=4", "host=b count(*)=3"}},
	{"fields after stats", "stats sum(latency) as s, count(*) as c by host | filter ispresent(host) | fields s / c as mean | sort mean desc | display host, mean",
		[]string{"host=b mean=323.3333333333333", "host=a mean=246.75", "host=c mean=6.5"}},
	{"dedup after stats", "stats count(*) as c by host, status | sort c desc | dedup host | limit 2",
		[]string{"host=a status=200 c=3", "host=b status=500 c=1"}},
	{"second stats", "stats count(*) as c by host | stats sum(c) as total, max(c) as most, count(*) as groups",
		[]string{"total=10 most=4 groups=4"}},
	{"second stats by a coarser bin", "stats count(*) as c by bin(20s) | stats sum(c) as s by bin(40s)",
		[]string{"bin(40s)=00.000 s=6", "bin(40s)=40.000 s=4"}},
	{"stats after limit", "sort latency desc | limit 2 | stats sum(latency) as s, count(*) as n",
		[]string{"s=1600 n=2"}},
	{"sort before stats orders nothing", "sort latency | stats count(*) as n",
		[]string{"n=10"}},
	{"stats groups in first-seen order", "stats count(*) as c by status",
		[]string{"status=200 c=5", "status=500 c=2", "status=404 c=1", "status=503 c=1", "c=1"}},
}

func TestExec(t *testing.T) {
	evs := fixture(t)
	for _, tc := range execCases {
		t.Run(tc.name, func(t *testing.T) {
			r := runQuery(t, tc.query, Options{Account: "123456789012"}, evs)
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if got := show(r.Results()); !slices.Equal(got, tc.want) {
				t.Errorf("%s\n got %q\nwant %q", tc.query, got, tc.want)
			}
		})
	}
}

// TestResultsBetweenAdds asks for results after every event: the final
// answer must equal that of a run asked only at the end.
func TestResultsBetweenAdds(t *testing.T) {
	evs := fixture(t)
	for _, tc := range execCases {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		r := q.NewRun(Options{Account: "123456789012"})
		for i := range evs {
			r.Add(&evs[i])
			r.Results()
			r.Results()
		}
		if got := show(r.Results()); !slices.Equal(got, tc.want) {
			t.Errorf("%s\n got %q\nwant %q", tc.query, got, tc.want)
		}
	}
}

func TestPtrOnEventRows(t *testing.T) {
	evs := fixture(t)
	rows := runQuery(t, "fields host | limit 1", Options{}, evs).Results()
	if n := len(rows[0]); n != 2 || rows[0][1].Name != "@ptr" || rows[0][1].Value == "" {
		t.Errorf("row %v; want host then @ptr", rows[0])
	}
	rows = runQuery(t, "stats count(*)", Options{}, evs).Results()
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Errorf("stats row %v; want count(*) alone", rows)
	}
}

func TestStddevIsSample(t *testing.T) {
	evs := fixture(t)
	rows := runQuery(t, "stats stddev(latency) as sd by host | sort host", Options{}, evs).Results()
	// a: 12, 30, 900, 45: mean 246.75, squared deviations sum 569526.75;
	// sample: sqrt(569526.75/3) = 435.7089...; population would be 377.33.
	want := []float64{435.70891, 345.88052, 2.12132}
	for i, w := range want {
		got, err := strconv.ParseFloat(rows[i][1].Value, 64)
		if err != nil || got < w-1e-4 || got > w+1e-4 {
			t.Errorf("row %v: stddev %v; want %v", rows[i], got, w)
		}
	}
	// one value: 0; no value: no column.
	rows = runQuery(t, "filter host = 'c' | stats stddev(latency) as sd, stddev(user) as su", Options{}, evs).Results()
	if got := show(rows); !slices.Equal(got, []string{"sd=2.1213203435596424"}) {
		t.Errorf("got %q", got)
	}
}

func TestLimitAnyStopsEarly(t *testing.T) {
	evs := fixture(t)
	q, _ := Parse("filter status = 200 | limit any 2")
	r := q.NewRun(Options{})
	added := 0
	for i := range evs {
		added++
		if !r.Add(&evs[i]) {
			break
		}
	}
	if added != 3 || len(r.Results()) != 2 || r.Err() != nil {
		t.Errorf("added %d events, %d rows, err %v; want 3 (two matches), 2 rows, nil", added, len(r.Results()), r.Err())
	}
}

func TestQueryChecks(t *testing.T) {
	for _, tc := range []struct {
		q, msg, at string
	}{
		{"stats count(*) as c by host | filter status > 1", "Unknown symbols found in or after stats: status", "status"},
		{"stats count(*) as c by host | sort latency", "Unknown symbols found in or after stats: latency", "latency"},
		{"stats count(*) as c | display host", "Unknown symbols found in or after stats: host", "host"},
		{"stats count(*) as c by h | stats sum(c) by h | stats count(*)", "at most 2 stats", ""},
		{"dedup host | sort host", "only limit may follow dedup", ""},
		{"dedup host | limit 2 | fields host", "only limit may follow dedup", ""},
		{"sort count(*) desc", "allowed only in stats", "count"},
		{"stats count(*) by host | sort sum(x)", "allowed only in stats", "sum"},
	} {
		_, err := Parse(tc.q)
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Message, tc.msg) {
			t.Errorf("Parse(%q) = %v; want %q", tc.q, err, tc.msg)
			continue
		}
		if tc.at != "" {
			if got := tc.q[pe.Start:pe.End]; got != tc.at {
				t.Errorf("Parse(%q): error at %q; want %q", tc.q, got, tc.at)
			}
		}
	}
	for _, q := range []string{
		"stats count(*) as c by host | fields c * 2 as d | filter d > 2 | sort d | display host, d",
		"fields @timestamp, @message | sort @timestamp desc | dedup @logStream | limit 5",
		"parse @message 'a=*' as a | stats count(*) by a | sort count(*) desc",
	} {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%q): %v", q, err)
		}
	}
}
