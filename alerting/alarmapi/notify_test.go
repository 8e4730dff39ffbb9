package alarmapi

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/alerting/notify"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/query"
)

// receiver is a webhook / Alertmanager on loopback that records what it is
// sent while up and answers 503 while down.
type receiver struct {
	srv  *httptest.Server
	down atomic.Bool

	mu     sync.Mutex
	bodies [][]byte
	paths  []string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := newUnstartedReceiver(t)
	r.srv.Start()
	return r
}

func newUnstartedReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.paths = append(r.paths, req.URL.Path)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// wait polls until n bodies arrived and returns them.
func (r *receiver) wait(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d notifications; want %d", r.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

func notifyService(t *testing.T, dir string, mod func(*alerting.Config)) *testService {
	t.Helper()
	cfg := alerting.Config{Dir: dir, Notify: notify.Config{BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, Timeout: 2 * time.Second}}
	if mod != nil {
		mod(&cfg)
	}
	s, err := openService(t, cfg, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func putNotifyAlarm(t *testing.T, s *testService, name, actions string) {
	t.Helper()
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"`+name+`","AlarmDescription":"cpu high","Namespace":"ns","MetricName":"cpu",
		"Dimensions":[{"Name":"host","Value":"h1"}],"Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":5,
		"ComparisonOperator":"GreaterThanThreshold","AlarmActions":`+actions+`,"OKActions":`+actions+`}`); err != nil {
		t.Fatal(err)
	}
}

func setNotifyState(t *testing.T, s *testService, name, value string) {
	t.Helper()
	if _, err := call(t, s.SetAlarmState, `{"AlarmName":"`+name+`","StateValue":"`+value+`","StateReason":"set to `+value+`"}`); err != nil {
		t.Fatal(err)
	}
}

// actionSummaries returns the Action history summaries, oldest first.
func actionSummaries(t *testing.T, s *testService) []string {
	t.Helper()
	var out []string
	if err := s.store.History(0, math.MaxInt64, false, nil, func(_ []byte, h *alerting.HistoryItem) bool {
		if h.Type == alerting.HistoryAction {
			out = append(out, h.Summary)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func waitSummary(t *testing.T, s *testService, substr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, sum := range actionSummaries(t, s) {
			if strings.Contains(sum, substr) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Action history item containing %q in %q", substr, actionSummaries(t, s))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNotifyWebhookSNSBodyOnTransitionOnly(t *testing.T) {
	r := newReceiver(t)
	s := notifyService(t, t.TempDir(), nil)
	defer s.Close()
	putNotifyAlarm(t, s, "cpu", `["`+r.srv.URL+`/hook"]`)
	setNotifyState(t, s, "cpu", alerting.StateAlarm)
	var m map[string]any
	if err := json.Unmarshal(r.wait(t, 1)[0], &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AlarmName", "AlarmDescription", "AWSAccountId", "AlarmConfigurationUpdatedTimestamp", "NewStateValue",
		"NewStateReason", "StateChangeTime", "Region", "AlarmArn", "OldStateValue", "OKActions", "AlarmActions", "InsufficientDataActions", "Trigger"} {
		if _, ok := m[k]; !ok {
			t.Errorf("body lacks %s: %v", k, m)
		}
	}
	for k, want := range map[string]any{"AlarmName": "cpu", "NewStateValue": alerting.StateAlarm, "OldStateValue": alerting.StateInsufficientData,
		"NewStateReason": "set to ALARM", "Region": "US East (N. Virginia)", "AlarmDescription": "cpu high", "AWSAccountId": "000000000000"} {
		if m[k] != want {
			t.Errorf("%s: got %v; want %v", k, m[k], want)
		}
	}
	tr, _ := m["Trigger"].(map[string]any)
	if tr["Statistic"] != "AVERAGE" || tr["StatisticType"] != "Statistic" || tr["MetricName"] != "cpu" || tr["Namespace"] != "ns" ||
		tr["Period"] != 60.0 || tr["Threshold"] != 5.0 || tr["TreatMissingData"] != "missing" {
		t.Errorf("trigger: %v", tr)
	}
	dims, _ := tr["Dimensions"].([]any)
	if len(dims) != 1 || dims[0].(map[string]any)["name"] != "host" || dims[0].(map[string]any)["value"] != "h1" {
		t.Errorf("dimensions (lower-case keys): %v", tr["Dimensions"])
	}
	waitSummary(t, s, "Successfully executed action "+r.srv.URL+"/hook")

	setNotifyState(t, s, "cpu", alerting.StateAlarm) // same state: no transition, no notification
	time.Sleep(100 * time.Millisecond)
	if n := r.count(); n != 1 {
		t.Errorf("same state again notified: %d notifications", n)
	}
}

func TestNotifyDisableAlarmActionsSuppresses(t *testing.T) {
	r := newReceiver(t)
	s := notifyService(t, t.TempDir(), nil)
	defer s.Close()
	putNotifyAlarm(t, s, "cpu", `["`+r.srv.URL+`"]`)
	if _, err := call(t, s.DisableAlarmActions, `{"AlarmNames":["cpu"]}`); err != nil {
		t.Fatal(err)
	}
	setNotifyState(t, s, "cpu", alerting.StateAlarm)
	if got := s.Alarm(awsapi.DefaultTenant, "cpu"); got == nil || got.State.Value != alerting.StateAlarm {
		t.Fatalf("state did not change with actions disabled: %+v", got)
	}
	if _, err := call(t, s.EnableAlarmActions, `{"AlarmNames":["cpu"]}`); err != nil {
		t.Fatal(err)
	}
	setNotifyState(t, s, "cpu", alerting.StateOK)
	var m map[string]any
	if err := json.Unmarshal(r.wait(t, 1)[0], &m); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if r.count() != 1 || m["NewStateValue"] != alerting.StateOK {
		t.Errorf("got %d notifications, first to %v; want only the OK one after enabling", r.count(), m["NewStateValue"])
	}
}

func TestNotifyAlertmanagerFiresAndResolves(t *testing.T) {
	r := newReceiver(t)
	s := notifyService(t, t.TempDir(), nil)
	defer s.Close()
	putNotifyAlarm(t, s, "cpu", `["alertmanager+`+r.srv.URL+`"]`)
	setNotifyState(t, s, "cpu", alerting.StateAlarm)
	setNotifyState(t, s, "cpu", alerting.StateOK)
	bodies := r.wait(t, 2)
	var alerts [2][]notify.AMAlert
	for i := range alerts {
		if err := json.Unmarshal(bodies[i], &alerts[i]); err != nil {
			t.Fatal(err)
		}
		if len(alerts[i]) != 1 {
			t.Fatalf("alert list %d: %s", i, bodies[i])
		}
	}
	fire, resolve := alerts[0][0], alerts[1][0]
	if fire.Labels["alertname"] != "cpu" || fire.Labels["namespace"] != "ns" || fire.Labels["metric"] != "cpu" || fire.Labels["host"] != "h1" {
		t.Errorf("labels: %v", fire.Labels)
	}
	if fire.Annotations["summary"] != "set to ALARM" || fire.Annotations["state"] != alerting.StateAlarm || fire.EndsAt != nil || fire.StartsAt.IsZero() {
		t.Errorf("firing alert: %s", bodies[0])
	}
	if resolve.EndsAt == nil || resolve.Annotations["state"] != alerting.StateOK || len(resolve.Labels) != len(fire.Labels) {
		t.Errorf("resolve: %s", bodies[1])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paths[0] != "/api/v2/alerts" {
		t.Errorf("path: %s", r.paths[0])
	}
}

func TestNotifyReceiverDownThenBackGetsEveryTransitionInOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failure string                                         // in the Action history item of a failed attempt
		down    func(t *testing.T) (*receiver, string, func()) // the receiver, its URL, and bringing it up
	}{
		{"503", "post notification: 503 Service Unavailable; retrying in", func(t *testing.T) (*receiver, string, func()) {
			r := newReceiver(t)
			r.down.Store(true)
			return r, r.srv.URL, func() { r.down.Store(false) }
		}},
		{"closed", "connection refused; retrying in", func(t *testing.T) (*receiver, string, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			_ = ln.Close()
			r := newUnstartedReceiver(t)
			return r, "http://" + addr, func() {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("reopen receiver: %v", err)
				}
				_ = r.srv.Listener.Close()
				r.srv.Listener = ln
				r.srv.Start()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, url, up := tc.down(t)
			s := notifyService(t, t.TempDir(), nil)
			defer s.Close()
			putNotifyAlarm(t, s, "cpu", `["`+url+`"]`)
			seq := []string{alerting.StateAlarm, alerting.StateOK, alerting.StateAlarm, alerting.StateOK}
			for _, v := range seq {
				setNotifyState(t, s, "cpu", v)
			}
			waitSummary(t, s, "Failed to execute action "+url+": ")
			waitSummary(t, s, tc.failure)
			time.Sleep(50 * time.Millisecond) // a few more failed attempts
			up()
			bodies := r.wait(t, len(seq))
			time.Sleep(50 * time.Millisecond)
			if r.count() != len(seq) {
				t.Errorf("got %d notifications; want %d", r.count(), len(seq))
			}
			for i, b := range bodies[:len(seq)] {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				if m["NewStateValue"] != seq[i] {
					t.Errorf("notification %d: %v; want %s (order)", i, m["NewStateValue"], seq[i])
				}
			}
			if got := countSummaries(t, s, "; retrying in"); got < 2 {
				t.Errorf("failed attempts: %v; want several", got)
			}
			waitSummary(t, s, "Successfully executed action "+url)
		})
	}
}

func TestNotifyDeliversAfterRestart(t *testing.T) {
	r := newReceiver(t)
	r.down.Store(true)
	dir := t.TempDir()
	slow := func(c *alerting.Config) { c.Notify.BackoffMin, c.Notify.BackoffMax = time.Hour, time.Hour }
	s := notifyService(t, dir, slow)
	putNotifyAlarm(t, s, "cpu", `["`+r.srv.URL+`"]`)
	setNotifyState(t, s, "cpu", alerting.StateAlarm)
	waitSummary(t, s, "Failed to execute action")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r.down.Store(false)
	s = notifyService(t, dir, nil)
	defer s.Close()
	var m map[string]any
	if err := json.Unmarshal(r.wait(t, 1)[0], &m); err != nil {
		t.Fatal(err)
	}
	if m["NewStateValue"] != alerting.StateAlarm {
		t.Errorf("after restart: %v", m)
	}
	waitSummary(t, s, "Successfully executed action")
}

func TestNotifyOutboxBoundDropsOldest(t *testing.T) {
	r := newReceiver(t)
	r.down.Store(true)
	dir := t.TempDir()
	s := notifyService(t, dir, func(c *alerting.Config) {
		c.Notify.MaxEntries, c.Notify.BackoffMin, c.Notify.BackoffMax = 2, time.Hour, time.Hour
	})
	putNotifyAlarm(t, s, "cpu", `["`+r.srv.URL+`"]`)
	reasons := []string{alerting.StateAlarm, alerting.StateOK, alerting.StateAlarm, alerting.StateOK}
	for _, v := range reasons {
		setNotifyState(t, s, "cpu", v)
	}
	if got := countSummaries(t, s, "the notification outbox is full"); got != 2 {
		t.Errorf("dropped: %v; want 2", got)
	}
	if n, _ := s.store.Outbox().Size(); n != 2 {
		t.Errorf("outbox entries: %d; want 2", n)
	}
	waitSummary(t, s, "the notification outbox is full")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The drops are durable: after a restart only the two newest remain, and
	// they are delivered in order.
	r.down.Store(false)
	s = notifyService(t, dir, nil)
	defer s.Close()
	bodies := r.wait(t, 2)
	time.Sleep(50 * time.Millisecond)
	if r.count() != 2 {
		t.Fatalf("after restart: %d notifications; want the 2 kept", r.count())
	}
	for i, b := range bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if want := "set to " + reasons[2+i]; m["NewStateReason"] != want || m["OldStateValue"] != reasons[1+i] {
			t.Errorf("kept notification %d: %v %v; want %q from %s", i, m["NewStateReason"], m["OldStateValue"], want, reasons[1+i])
		}
	}
}

func TestNotifyUnsupportedTargetIsRecorded(t *testing.T) {
	s := notifyService(t, t.TempDir(), nil)
	defer s.Close()
	arn := "arn:aws:sns:us-east-1:000000000000:topic"
	putNotifyAlarm(t, s, "cpu", `["`+arn+`"]`)
	setNotifyState(t, s, "cpu", alerting.StateAlarm)
	waitSummary(t, s, "Failed to execute action "+arn+": this action type is not supported by this server")
}

func TestNotifyFromEvaluatorTransition(t *testing.T) {
	r := newReceiver(t)
	now := time.Date(2026, 1, 2, 3, 10, 30, 0, time.UTC)
	end := now.Add(-10*time.Second).Unix() / 60 * 60
	f := &fakeReader{values: map[int64]query.AlarmDatapoint{}}
	for i := int64(1); i <= 5; i++ {
		f.values[end-i*60] = query.AlarmDatapoint{Value: 10, SampleCount: 1}
	}
	var clock atomic.Int64 // the delivery loop reads the clock too
	clock.Store(now.UnixNano())
	s := notifyService(t, t.TempDir(), func(c *alerting.Config) {
		c.Reader, c.Now = f, func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	})
	defer s.Close()
	putNotifyAlarm(t, s, "cpu", `["`+r.srv.URL+`"]`)
	last := map[string]int64{}
	s.EvaluateDue(context.Background(), last)
	var m map[string]any
	if err := json.Unmarshal(r.wait(t, 1)[0], &m); err != nil {
		t.Fatal(err)
	}
	if m["NewStateValue"] != alerting.StateAlarm || m["OldStateValue"] != alerting.StateInsufficientData {
		t.Errorf("evaluator transition: %v", m)
	}
	clock.Add(int64(time.Minute)) // still breaching: no transition, no notification
	s.EvaluateDue(context.Background(), last)
	time.Sleep(50 * time.Millisecond)
	if r.count() != 1 {
		t.Errorf("got %d notifications; want 1", r.count())
	}
}

// The composite seam: commitCompositeStates writes a composite transition
// with its notifications (composite.go decides where it is called).
func TestNotifyCompositeFollowsItsChild(t *testing.T) {
	r := newReceiver(t)
	s := notifyService(t, t.TempDir(), nil)
	defer s.Close()
	putNotifyAlarm(t, s, "child", `[]`)
	if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"both","AlarmRule":"ALARM(child)","AlarmActions":["`+r.srv.URL+`","alertmanager+`+r.srv.URL+`"]}`); err != nil {
		t.Fatal(err)
	}
	setNotifyState(t, s, "child", "OK")
	setNotifyState(t, s, "child", "ALARM") // the composite follows its child into ALARM
	bodies := r.wait(t, 2)
	var sns map[string]any
	var am []notify.AMAlert
	for _, b := range bodies {
		if b[0] == '[' {
			_ = json.Unmarshal(b, &am)
		} else {
			_ = json.Unmarshal(b, &sns)
		}
	}
	if sns["AlarmRule"] != "ALARM(child)" || sns["NewStateValue"] != alerting.StateAlarm || sns["AlarmName"] != "both" {
		t.Errorf("composite webhook body: %v", sns)
	}
	if len(am) != 1 || am[0].Labels["alertname"] != "both" || am[0].EndsAt != nil {
		t.Errorf("composite alertmanager alert: %+v", am)
	}
	waitSummary(t, s, "Successfully executed action alertmanager+"+r.srv.URL)
}

// countSummaries counts the Action history items containing substr.
func countSummaries(t *testing.T, s *testService, substr string) int {
	t.Helper()
	n := 0
	for _, sum := range actionSummaries(t, s) {
		if strings.Contains(sum, substr) {
			n++
		}
	}
	return n
}
