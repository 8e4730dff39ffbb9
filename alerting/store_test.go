package alerting

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
)

func startStore(t *testing.T, dir string, now time.Time) *Store {
	t.Helper()
	s, err := NewStore(Config{Dir: dir, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []services.Service{s, s.Outbox()} {
		if err := services.StartAndAwaitRunning(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func stopStore(t *testing.T, s *Store) {
	t.Helper()
	for _, svc := range []services.Service{s.Outbox(), s} {
		if err := services.StopAndAwaitTerminated(context.Background(), svc); err != nil {
			t.Fatal(err)
		}
	}
}

// Both alarm types live in one map and one database: a name is taken
// across types, a composite follows its metric child, and both survive a
// stop and a start.
func TestStoreOneMapBothTypesDurable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := t.TempDir()
	s := startStore(t, dir, now)
	m := &Alarm{Base: Base{Name: "m", ActionsEnabled: true}, Metric: Metric{Namespace: "ns", MetricName: "cpu"},
		Statistic: "Average", Period: 60, EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold"}
	if err := s.Put(m); err != nil {
		t.Fatal(err)
	}
	c := &CompositeAlarm{Base: Base{Name: "c"}, Rule: "ALARM(m)"}
	if err := c.ParseRule(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	var exists *ExistsError
	taken := &CompositeAlarm{Base: Base{Name: "m"}, Rule: "TRUE"}
	if err := taken.ParseRule(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(taken); !errors.As(err, &exists) || exists.Type != TypeMetric {
		t.Errorf("composite named like a metric alarm: %v; want ExistsError of a MetricAlarm", err)
	}
	if err := s.SetState("", "m", State{Value: StateAlarm, Reason: "r", Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState("", "nope", State{Value: StateOK, Updated: now}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown alarm: %v; want ErrNotFound", err)
	}
	var ref *ReferenceError
	if err := s.Delete("", []string{"m"}); !errors.As(err, &ref) || ref.Kind != Referenced {
		t.Errorf("delete a child: %v; want a Referenced ReferenceError", err)
	}
	stopStore(t, s)

	s = startStore(t, dir, now)
	defer stopStore(t, s)
	list := s.List("")
	if len(list) != 2 || list[0].Type() != TypeComposite || list[1].Type() != TypeMetric {
		t.Fatalf("after restart: %v", list)
	}
	if got := list[0].Common().State.Value; got != StateAlarm {
		t.Errorf("composite after its child's ALARM and a restart: %s", got)
	}
}
