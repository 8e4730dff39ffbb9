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
