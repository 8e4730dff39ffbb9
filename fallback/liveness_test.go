package fallback

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/record"
)

type sinkFunc func(record.Liveness)

func (f sinkFunc) ApplyLiveness(l record.Liveness) { f(l) }

// walMarks returns the liveness marks in w, in order.
func walMarks(t *testing.T, w *WAL) []record.Liveness {
	t.Helper()
	var out []record.Liveness
	err := w.Replay(context.Background(), 0, func(_ uint64, rec []byte) error {
		if k, _ := record.KindOf(rec); k == record.KindLiveness {
			l, err := record.DecodeLiveness(rec)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLivenessService(t *testing.T) {
	for _, genesis := range []bool{false, true} {
		w, err := startWAL(WALConfig{Dir: t.TempDir()}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stopWAL(w) }()
		now := time.Unix(1_767_225_600, 0)
		clock := func() time.Time { return now }
		var applied []record.Liveness
		reg := prometheus.NewRegistry()
		lv := NewLiveness(LivenessConfig{Interval: time.Hour, Genesis: genesis, Now: clock}, w, sinkFunc(func(l record.Liveness) { applied = append(applied, l) }), reg, nil)
		if err := services.StartAndAwaitRunning(context.Background(), lv); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			now = now.Add(time.Second)
			if err := lv.Mark(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
		if err := services.StopAndAwaitTerminated(context.Background(), lv); err != nil {
			t.Fatal(err)
		}
		want := []record.Liveness{{UnixMs: 1_767_225_600_000, Started: true, Genesis: genesis},
			{UnixMs: 1_767_225_601_000}, {UnixMs: 1_767_225_602_000}, {UnixMs: 1_767_225_603_000}}
		if got := walMarks(t, w); !slices.Equal(got, want) {
			t.Errorf("genesis %v: WAL holds %+v; want a started mark, two marks and one at stop: %+v", genesis, got, want)
		}
		if !slices.Equal(applied, want) {
			t.Errorf("genesis %v: the sink got %+v; want %+v", genesis, applied, want)
		}
		if n := testutil.ToFloat64(lv.marks); n != 4 {
			t.Errorf("cellwatch_liveness_marks_total %v; want 4", n)
		}
	}
}

func TestLivenessMarkOnAClosedWAL(t *testing.T) {
	w, err := startWAL(WALConfig{Dir: t.TempDir()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	lv := NewLiveness(LivenessConfig{}, w, sinkFunc(func(record.Liveness) { called = true }), nil, nil)
	_ = stopWAL(w)
	if err := lv.Mark(context.Background()); !errors.Is(err, ErrClosed) || called || testutil.ToFloat64(lv.failures) != 1 {
		t.Errorf("got %v, sink called %v; want ErrClosed, no sink call, one failure counted", err, called)
	}
}

func TestShipBatchSendsMarksToEveryPartition(t *testing.T) {
	b := newShipBatch(4)
	mark := record.AppendLiveness(nil, record.Liveness{UnixMs: 42, Started: true})
	metrics := record.AppendMetrics(nil, &record.Metrics{Tenant: "t", Namespace: "ns", Datums: []record.Datum{{MetricName: "a", Unit: "None"}}})
	for i, rec := range [][]byte{mark, metrics, mark} {
		if err := b.add("node", uint64(100*i), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.add("node", 300, []byte{byte(record.KindLiveness), 0x80}); err == nil {
		t.Error("a truncated mark was accepted")
	}
	total := 0
	for p, msgs := range b.parts {
		var marks []uint64
		for _, raw := range msgs {
			var s record.Shipped
			if err := record.DecodeShipped(raw, &s); err != nil {
				t.Fatal(err)
			}
			if s.Kind == record.KindLiveness {
				l, err := record.DecodeLiveness(s.Body)
				if err != nil || l.UnixMs != 42 || s.Origin != "node" {
					t.Errorf("partition %d: mark %+v, %v", p, l, err)
				}
				marks = append(marks, s.Offset)
			}
		}
		if !slices.Equal(marks, []uint64{0, 200}) {
			t.Errorf("partition %d got marks at %v; want both, at WAL offsets 0 and 200", p, marks)
		}
		total += len(msgs)
	}
	if total != 4*2+1 {
		t.Errorf("%d messages; want a mark per partition twice and one metrics part", total)
	}
}
