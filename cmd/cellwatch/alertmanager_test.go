package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// amResolveTimeout is the test Alertmanager's resolve_timeout: an alert
// posted without endsAt is resolved by Alertmanager itself this long after.
const amResolveTimeout = 5 * time.Second

// alertmanager is a real Alertmanager (Debian's prometheus-alertmanager)
// running on loopback.
type alertmanager struct{ url string }

// startAlertmanager starts Alertmanager with a short resolve_timeout and no
// cluster. Without the binary the test is skipped, except in CI (CI set),
// where .ci/run installs it and a missing binary fails.
func startAlertmanager(t *testing.T) *alertmanager {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("prometheus-alertmanager not installed (apt-get install prometheus-alertmanager)")
		}
		t.Fatalf("prometheus-alertmanager not found in CI: %v", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  resolve_timeout: %s\nroute:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n", amResolveTimeout)
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	am := &alertmanager{url: "http://" + addr}
	waitFor(t, 30*time.Second, "alertmanager ready", func() bool {
		resp, err := http.Get(am.url + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return am
}

// amAlert is the part of Alertmanager's GET /api/v2/alerts answer the test reads.
type amAlert struct {
	Labels map[string]string `json:"labels"`
	EndsAt time.Time         `json:"endsAt"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

// active returns the active alert named name (nil: none).
func (am *alertmanager) active(t *testing.T, name string) *amAlert {
	t.Helper()
	resp, err := http.Get(am.url + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
	if err != nil {
		t.Fatalf("list alerts: %v", err)
	}
	defer resp.Body.Close()
	var alerts []amAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatalf("decode alerts: %v", err)
	}
	for i, a := range alerts {
		if a.Labels["alertname"] == name && a.Status.State == "active" && a.EndsAt.After(time.Now()) {
			return &alerts[i]
		}
	}
	return nil
}

// stillActive fails unless the alert stays active throughout d.
func (am *alertmanager) stillActive(t *testing.T, name string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if am.active(t, name) == nil {
			t.Fatalf("alert %s no longer active", name)
		}
	}
}

// TestAlertmanagerKeepsAlarmFiring: an alarm in ALARM stays firing at a
// real Alertmanager well past its resolve_timeout (the keepalives), also
// across a node restart, and is resolved when the alarm goes to OK, though
// the Alertmanager is only among its AlarmActions.
func TestAlertmanagerKeepsAlarmFiring(t *testing.T) {
	am := startAlertmanager(t)
	dir := t.TempDir()
	const keepalive = 2 * time.Second // endsAt 8 s ahead
	tn := startNode(t, testConfig(t, dir, "-alarms.alertmanager-keepalive", keepalive.String()))
	ctx := context.Background()
	target := "alertmanager+" + am.url
	if _, err := tn.sdk().PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("hot"), Namespace: aws.String("ns"),
		MetricName: aws.String("temp"), Statistic: types.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(50), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{target},
		TreatMissingData: aws.String("breaching")}); err != nil { // the evaluator keeps it in ALARM: no data breaches
		t.Fatal(err)
	}
	if _, err := tn.sdk().SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("hot"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("too hot")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the alert at alertmanager", func() bool { return am.active(t, "hot") != nil })
	am.stillActive(t, "hot", 3*amResolveTimeout)

	tn.stop() // the keepalives come from state, not from a queue: a new node sends them again
	tn = startNode(t, testConfig(t, dir, "-alarms.alertmanager-keepalive", keepalive.String()))
	am.stillActive(t, "hot", 2*amResolveTimeout)

	okAt := time.Now()
	if _, err := tn.sdk().SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("hot"), StateValue: types.StateValueOk,
		StateReason: aws.String("cool again")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the alert resolved", func() bool { return am.active(t, "hot") == nil })
	// The resolve was delivered (an Action item), not the endsAt run out.
	waitFor(t, 20*time.Second, "the resolve's Action history item", func() bool {
		out, err := tn.sdk().DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("hot"),
			HistoryItemType: types.HistoryItemTypeAction, StartDate: aws.Time(okAt)})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range out.AlarmHistoryItems {
			if strings.HasPrefix(aws.ToString(h.HistorySummary), "Successfully executed action "+target) {
				return true
			}
		}
		return false
	})
}
