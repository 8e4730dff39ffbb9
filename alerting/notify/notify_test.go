package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNotifyTargetsAndBackoff(t *testing.T) {
	for _, tc := range []struct{ target, kind, url string }{
		{"http://h:1/x", "webhook", "http://h:1/x"},
		{"https://h/x?y=1", "webhook", "https://h/x?y=1"},
		{"alertmanager+http://am:9093", "alertmanager", "http://am:9093/api/v2/alerts"},
		{"alertmanager+https://am:9093/", "alertmanager", "https://am:9093/api/v2/alerts"},
		{"arn:aws:sns:us-east-1:000000000000:t", "", ""},
		{"arn:aws:automate:us-east-1:ec2:stop", "", ""},
		{"ftp://h/x", "", ""},
	} {
		if got := targetKind(tc.target); got != tc.kind {
			t.Errorf("targetKind(%q) = %q; want %q", tc.target, got, tc.kind)
		}
		if tc.kind == "alertmanager" && alertmanagerURL(tc.target) != tc.url {
			t.Errorf("alertmanagerURL(%q) = %q; want %q", tc.target, alertmanagerURL(tc.target), tc.url)
		}
	}
	o := &Outbox{cfg: Config{}.withDefaults()}
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second}, {10, 5 * time.Minute}, {1000, 5 * time.Minute}} {
		if got := o.backoff(tc.failures); got != tc.want {
			t.Errorf("backoff(%d) = %v; want %v", tc.failures, got, tc.want)
		}
	}
}

// testJournal is a database of its own, recording the results it is given.
type testJournal struct {
	db      *pebble.DB
	mu      sync.Mutex
	results []Result
}

func (j *testJournal) DB() *pebble.DB { return j.db }

func (j *testJournal) Record(_ *pebble.Batch, results []Result) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.results = append(j.results, results...)
	return nil
}

func openJournal(t *testing.T, dir string) *testJournal {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &testJournal{db: db}
}

// stage commits entries for target into the journal's database, as the
// alarm store does with an alarm's new state.
func stage(t *testing.T, o *Outbox, j *testJournal, target string, n int) {
	t.Helper()
	b := j.db.NewBatch()
	defer b.Close()
	var add []*Entry
	for i := range n {
		add = append(add, &Entry{Target: target, AlarmName: "a", AlarmType: "MetricAlarm", Created: time.Now(), Body: []byte(`{"n":` + string(rune('0'+i)) + `}`)})
	}
	_, done, err := o.Stage(b, time.Now(), add)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Commit(pebble.Sync)
	done(err == nil)
	if err != nil {
		t.Fatal(err)
	}
}

// Stopping the outbox lets an in-flight delivery end and leaves the
// undelivered entries in the database: after a restart they are delivered.
func TestOutboxStopKeepsUndeliveredEntries(t *testing.T) {
	var up atomic.Bool
	var got atomic.Int32
	inFlight := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if !up.Load() {
			inFlight <- struct{}{}
			time.Sleep(100 * time.Millisecond) // in flight while the outbox stops
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got.Add(1)
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "db")
	cfg := Config{Timeout: 2 * time.Second, BackoffMin: time.Hour, BackoffMax: time.Hour}
	j := openJournal(t, dir)
	o, err := New(cfg, j, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	stage(t, o, j, srv.URL, 3)
	<-inFlight
	if err := services.StopAndAwaitTerminated(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	recorded := len(j.results)
	j.mu.Unlock()
	if recorded != 1 || j.results[0].OK {
		t.Fatalf("the delivery in flight at stop did not end and record its failure: %+v", j.results)
	}
	if err := j.db.Close(); err != nil {
		t.Fatal(err)
	}

	up.Store(true)
	j = openJournal(t, dir)
	defer j.db.Close()
	o, err = New(cfg, j, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = services.StopAndAwaitTerminated(context.Background(), o) }()
	// Nothing was delivered before the restart (the receiver failed every
	// attempt), so three deliveries now are the three entries that survived.
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := o.Size(); got.Load() < 3 || n > 0; n, _ = o.Size() {
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %d delivered, %d entries left; want 3 delivered and none left", got.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got.Load() != 3 {
		t.Errorf("after restart: %d deliveries; want each of the 3 entries once", got.Load())
	}
}
