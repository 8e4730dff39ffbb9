package logs

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/ingest"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// memLogs is an in-memory Writer and Reader.
type memLogs struct {
	mu      sync.Mutex
	events  map[[3]string][]store.LogEvent
	records []*record.Logs
	unknown []store.Interval // reported by every scan
}

func newMemLogs() *memLogs { return &memLogs{events: map[[3]string][]store.LogEvent{}} }

func (m *memLogs) AppendLogs(_ context.Context, rec *record.Logs) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	off := uint64(len(m.records))
	m.records = append(m.records, rec)
	k := [3]string{rec.Tenant, rec.Group, rec.Stream}
	for i, e := range rec.Events {
		m.events[k] = append(m.events[k], store.LogEvent{Timestamp: e.Timestamp, Ingestion: rec.Ingestion,
			Message: e.Message, Origin: "mem", Offset: off, Index: uint32(i)})
	}
	return nil
}

func (m *memLogs) ScanLogs(_ context.Context, s store.LogScan, fn func(*store.LogEvent) bool) ([]store.Interval, error) {
	m.mu.Lock()
	var evs []store.LogEvent
	for _, e := range m.events[[3]string{s.Tenant, s.Group, s.Stream}] {
		if e.Timestamp >= s.FromMs && e.Timestamp < s.ToMs {
			evs = append(evs, e)
		}
	}
	unknown := slices.Clone(m.unknown)
	m.mu.Unlock()
	slices.SortFunc(evs, func(a, b store.LogEvent) int { return store.CompareLogEvents(&a, &b) })
	if s.Descending {
		slices.Reverse(evs)
	}
	for i := range evs {
		if !fn(&evs[i]) {
			break
		}
	}
	return unknown, nil
}

func (m *memLogs) ForgetLogs(_ context.Context, tenant, group, stream string, before int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [3]string{tenant, group, stream}
	m.events[k] = slices.DeleteFunc(m.events[k], func(e store.LogEvent) bool { return e.Timestamp < before })
	return nil
}

func (m *memLogs) StoredLogBytes(tenant, group, stream string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, e := range m.events[[3]string{tenant, group, stream}] {
		n += int64(len(e.Message))
	}
	return n
}

type harness struct {
	api    *API
	mem    *memLogs
	client *cloudwatchlogs.Client
	url    string
	now    time.Time
}

// newHarness runs the API in an ingest.Server on loopback (anonymous) with
// the SDK's Logs client pointed at it. dir "" is a fresh directory.
func newHarness(t *testing.T, dir string) *harness {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	h := &harness{mem: newMemLogs(), now: time.Now()}
	api, err := New(Config{Dir: dir, MaxGroups: 5, MaxStreams: 3, RetentionInterval: time.Hour},
		h.mem, h.mem, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := api.StartAsync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.AwaitRunning(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		api.StopAsync()
		_ = api.AwaitTerminated(ctx)
	})
	srv := ingest.NewServer(awsapi.Limits{MaxBodyBytes: 4 << 20, MaxDecompressedBytes: 16 << 20}, prometheus.NewRegistry(), nil)
	for op, h := range api.Handlers() {
		srv.RegisterLogs(op, ingest.Handler(h))
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h.api, h.url = api, ts.URL
	h.client = cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 1})
	return h
}
