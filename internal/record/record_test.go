package record

import (
	"errors"
	"reflect"
	"testing"
)

func TestMetricsRoundTrip(t *testing.T) {
	in := &Metrics{Tenant: "t", Namespace: "ns", Datums: []Datum{
		{MetricName: "a", Dimensions: []Dimension{{"Host", "h1"}, {"Zone", "z"}}, Unit: "Seconds", Timestamp: -5, Value: 1.5},
		{MetricName: "b", Unit: "None", HighRes: true, Timestamp: 1767323045123, Values: []float64{1, 10}, Counts: []float64{2, 4}},
		{MetricName: "c", Unit: "Count", Timestamp: 7, Stats: &StatisticSet{SampleCount: 10, Sum: 55, Min: 1, Max: 10}},
		{MetricName: "up", Unit: "None", HighRes: true, Sample: true, Timestamp: 1767323045123, Value: 1},
	}}
	var out Metrics
	b := AppendMetrics(nil, in)
	if err := DecodeMetrics(b, &out); err != nil {
		t.Fatal(err)
	}
	// Decoding reuses slices: an empty Values slice decodes as empty, not nil.
	for i := range out.Datums {
		if len(out.Datums[i].Values) == 0 {
			out.Datums[i].Values, out.Datums[i].Counts = nil, nil
		}
		if len(out.Datums[i].Dimensions) == 0 {
			out.Datums[i].Dimensions = nil
		}
	}
	if !reflect.DeepEqual(in, &out) {
		t.Errorf("got %+v; want %+v", out, *in)
	}
	if k, _ := KindOf(b); k != KindMetrics {
		t.Errorf("kind: got %d; want %d", k, KindMetrics)
	}
}

func TestDecodeRejectsTruncatedRecords(t *testing.T) {
	b := AppendMetrics(nil, &Metrics{Namespace: "ns", Datums: []Datum{{MetricName: "a", Unit: "None", Values: []float64{1}, Counts: []float64{1}}}})
	for n := range len(b) {
		var m Metrics
		if err := DecodeMetrics(b[:n], &m); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: got %v; want ErrCorrupt", n, err)
		}
	}
}

func TestShippedAndGapRoundTrip(t *testing.T) {
	body := AppendGap(nil, Gap{From: 10, To: 99, FirstMs: -1, LastMs: 1767323045123})
	b := AppendShipped(nil, &Shipped{Origin: "node-a", Offset: 99, Kind: KindGap, Body: body})
	var s Shipped
	if err := DecodeShipped(b, &s); err != nil || s.Origin != "node-a" || s.Offset != 99 || s.Kind != KindGap {
		t.Fatalf("got %+v, %v", s, err)
	}
	g, err := DecodeGap(s.Body)
	if err != nil || g != (Gap{From: 10, To: 99, FirstMs: -1, LastMs: 1767323045123}) {
		t.Errorf("got %+v, %v", g, err)
	}
	d1 := Datum{MetricName: "m", Dimensions: []Dimension{{"a", "b"}}, Unit: "None"}
	d2 := Datum{MetricName: "m", Dimensions: []Dimension{{"a", "b"}}, Unit: "Count"}
	if h1, again := SeriesHash("t", "ns", &d1), SeriesHash("t", "ns", &d1); h1 == SeriesHash("t", "ns", &d2) || h1 != again {
		t.Error("series hash must tell units apart and be stable")
	}
}

func TestLivenessRoundTrip(t *testing.T) {
	for _, l := range []Liveness{{UnixMs: 1767323045123}, {UnixMs: 5, Started: true}, {UnixMs: -1, Started: true, Genesis: true}} {
		b := AppendLiveness(nil, l)
		if k, _ := KindOf(b); k != KindLiveness {
			t.Errorf("kind %d; want %d", k, KindLiveness)
		}
		got, err := DecodeLiveness(b)
		if err != nil || got != l {
			t.Errorf("got %+v, %v; want %+v", got, err, l)
		}
		for n := range len(b) {
			if _, err := DecodeLiveness(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Errorf("prefix of %d bytes: got %v; want ErrCorrupt", n, err)
			}
		}
	}
	if _, err := DecodeLiveness(AppendMetrics(nil, &Metrics{})); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a metrics record decoded as liveness: %v", err)
	}
}

func TestLogsRoundTripAndTruncation(t *testing.T) {
	in := &Logs{Tenant: "t", Group: "/app/web", Stream: "i-1", Ingestion: 1_767_225_600_123,
		Events:  []LogEvent{{Timestamp: 1_767_225_600_000, Message: "GET / 200"}, {Timestamp: 1_767_225_600_001, Message: ""}},
		Metrics: []Metrics{{Tenant: "t", Namespace: "LogMetrics", Datums: []Datum{{MetricName: "Errors", Unit: "Count", Timestamp: 1, Value: 1}}}}}
	b := AppendLogs(nil, in)
	var out Logs
	if err := DecodeLogs(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Tenant != in.Tenant || out.Group != in.Group || out.Stream != in.Stream || out.Ingestion != in.Ingestion ||
		len(out.Events) != 2 || out.Events[0] != in.Events[0] || out.Events[1] != in.Events[1] ||
		len(out.Metrics) != 1 || out.Metrics[0].Namespace != "LogMetrics" || out.Metrics[0].Datums[0].MetricName != "Errors" {
		t.Fatalf("round trip: %+v", out)
	}
	for n := range len(b) {
		if err := DecodeLogs(b[:n], &out); err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(b))
		}
	}
}
