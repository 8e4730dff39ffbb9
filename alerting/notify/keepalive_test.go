package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
)

type fixedSource []Firing

func (f fixedSource) Firing() []Firing { return f }

// A running outbox re-posts the firing alarms to their Alertmanagers, with
// endsAt KeepaliveLead keepalives ahead, from its start on, without
// entering them in the outbox or recording results; webhook targets get no
// keepalives.
func TestOutboxKeepalives(t *testing.T) {
	var mu sync.Mutex
	var posts [][]AMAlert
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var alerts []AMAlert
		if err := json.Unmarshal(b, &alerts); err != nil {
			t.Errorf("keepalive body: %v: %s", err, b)
		}
		mu.Lock()
		defer mu.Unlock()
		posts, paths = append(posts, alerts), append(paths, r.URL.Path)
	}))
	defer srv.Close()
	j := openJournal(t, filepath.Join(t.TempDir(), "db"))
	defer j.db.Close()
	const every = 50 * time.Millisecond
	o, err := New(Config{Keepalive: every}, j, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fire := Alarm{Name: "a", State: stateAlarm, Reason: "high", Labels: map[string]string{"alertname": "a"}}
	o.KeepFiring(fixedSource{{Alarm: fire, Targets: []string{srv.URL, alertmanagerPref + srv.URL, "arn:aws:sns:x"}}})
	began := time.Now()
	if err := services.StartAndAwaitRunning(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = services.StopAndAwaitTerminated(context.Background(), o) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(posts)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keepalives in 10 s; want 3 (one every %v)", n, every)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, p := range posts {
		if paths[i] != "/api/v2/alerts" || len(p) != 1 || p[0].Labels["alertname"] != "a" || p[0].Annotations["state"] != stateAlarm {
			t.Fatalf("keepalive %d to %s: %+v", i, paths[i], p)
		}
		if p[0].EndsAt == nil || p[0].EndsAt.Before(began.Add(KeepaliveLead*every)) || time.Until(*p[0].EndsAt) > KeepaliveLead*every {
			t.Errorf("keepalive %d endsAt %v; want %d keepalives ahead of its post", i, p[0].EndsAt, KeepaliveLead)
		}
	}
	if n, _ := o.Size(); n != 0 {
		t.Errorf("outbox holds %d entries; keepalives must not enter it", n)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.results) != 0 {
		t.Errorf("keepalives recorded results: %+v", j.results)
	}
}

// Only ALARM fires: a transition to OK or INSUFFICIENT_DATA renders a resolve.
func TestAlertmanagerAlertsResolveOutsideAlarm(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		state    string
		resolved bool
	}{{stateAlarm, false}, {"OK", true}, {"INSUFFICIENT_DATA", true}} {
		b, err := AlertmanagerAlerts(Alarm{Name: "a", State: tc.state, Labels: map[string]string{"alertname": "a"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		var al []AMAlert
		if err := json.Unmarshal(b, &al); err != nil {
			t.Fatal(err)
		}
		if got := al[0].EndsAt != nil && al[0].EndsAt.Equal(now); got != tc.resolved || !strings.Contains(string(b), tc.state) {
			t.Errorf("%s: %s; want resolved %v", tc.state, b, tc.resolved)
		}
	}
}

// While a keepalive pass runs, the durable entries of Alertmanager targets
// wait (so a resolve staged meanwhile is posted after the pass); webhook
// entries go on.
func TestKeepalivePassHoldsAlertmanagerEntries(t *testing.T) {
	o := &Outbox{queues: map[string]*targetQueue{}}
	for _, target := range []string{"http://hook", alertmanagerPref + "http://am"} {
		o.push(&Entry{Target: target})
	}
	for _, tc := range []struct {
		pausing bool
		want    int
	}{{true, 1}, {false, 2}} {
		for _, q := range o.queues {
			q.busy = false
		}
		o.pausing = tc.pausing
		start, _ := o.due(10)
		if len(start) != tc.want || tc.pausing && IsAlertmanager(start[0].Target) {
			t.Errorf("pausing %v: started %d entries (%v); want %d", tc.pausing, len(start), start, tc.want)
		}
	}
}
