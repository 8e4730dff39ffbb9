package alarmapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/alerting"
)

// testService is the API over a started store, outbox and evaluator, as
// cmd runs them.
type testService struct {
	*API
	store *alerting.Store
	eval  *alerting.Evaluator
	svcs  []services.Service // in start order
}

// openService builds and starts the alarm services over cfg; the test's
// cleanup stops them if Close did not.
func openService(t testing.TB, cfg alerting.Config, reg prometheus.Registerer, logger *slog.Logger) (*testService, error) {
	t.Helper()
	st, err := alerting.NewStore(cfg, reg, logger)
	if err != nil {
		return nil, err
	}
	ev, err := alerting.NewEvaluator(st, reg, logger)
	if err != nil {
		return nil, err
	}
	s := &testService{API: New(st), store: st, eval: ev}
	t.Cleanup(func() { _ = s.Close() })
	for _, svc := range []services.Service{st, st.Outbox(), ev} {
		if err := services.StartAndAwaitRunning(context.Background(), svc); err != nil {
			_ = s.Close()
			return nil, err
		}
		s.svcs = append(s.svcs, svc)
	}
	return s, nil
}

// Close stops the services in reverse order.
func (s *testService) Close() error {
	var err error
	for i := len(s.svcs) - 1; i >= 0; i-- {
		if serr := services.StopAndAwaitTerminated(context.Background(), s.svcs[i]); serr != nil && err == nil {
			err = serr
		}
	}
	s.svcs = nil
	return err
}

// Alarm returns the tenant's metric alarm name (nil: none).
func (s *testService) Alarm(tenant, name string) *alerting.Alarm {
	a, _ := s.store.Alarm(tenant, name).(*alerting.Alarm)
	return a
}

// Composite returns the tenant's composite alarm name (nil: none).
func (s *testService) Composite(tenant, name string) *alerting.CompositeAlarm {
	c, _ := s.store.Alarm(tenant, name).(*alerting.CompositeAlarm)
	return c
}

func (s *testService) EvaluateDue(ctx context.Context, last map[string]int64) {
	s.eval.EvaluateDue(ctx, last)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// mustOpen opens the service over dir with the clock now, failing the test
// when it cannot.
func mustOpen(t testing.TB, dir string, now func() time.Time) *testService {
	t.Helper()
	s, err := openService(t, alerting.Config{Dir: dir, Now: now}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
