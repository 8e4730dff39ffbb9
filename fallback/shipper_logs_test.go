package fallback

import (
	"fmt"
	"testing"

	"github.com/cellwatch/cellwatch/internal/record"
)

// A logs record goes as at most one message per partition: its events whole
// to the stream's partition, its metric filter datums to their series'.
func TestShipBatchSplitsLogsRecord(t *testing.T) {
	const parts = 4
	rec := &record.Logs{Tenant: "t", Group: "g", Stream: "s", Ingestion: 7,
		Events: []record.LogEvent{{Timestamp: 1, Message: "a"}, {Timestamp: 2, Message: "b"}}}
	m := record.Metrics{Tenant: "t", Namespace: "ns"}
	for i := range 16 {
		m.Datums = append(m.Datums, record.Datum{MetricName: fmt.Sprint("m", i), Unit: "None", Timestamp: 1, Value: 1})
	}
	rec.Metrics = []record.Metrics{m}
	b := newShipBatch(parts)
	if err := b.add("node", 9, record.AppendLogs(nil, rec)); err != nil {
		t.Fatal(err)
	}
	eventPart := int(record.StreamHash("t", "g", "s") % parts)
	events, datums := 0, 0
	for p, msgs := range b.parts {
		if len(msgs) > 1 {
			t.Errorf("partition %d got %d messages of one record; want at most one", p, len(msgs))
		}
		for _, raw := range msgs {
			var s record.Shipped
			var l record.Logs
			if err := record.DecodeShipped(raw, &s); err != nil || s.Kind != record.KindLogs || s.Offset != 9 || s.Origin != "node" {
				t.Fatalf("partition %d: %+v, %v", p, s, err)
			}
			if err := record.DecodeLogs(s.Body, &l); err != nil {
				t.Fatal(err)
			}
			if len(l.Events) > 0 && p != eventPart {
				t.Errorf("events in partition %d; want them in %d only", p, eventPart)
			}
			events += len(l.Events)
			for _, pm := range l.Metrics {
				for i := range pm.Datums {
					if got := int(record.SeriesHash(pm.Tenant, pm.Namespace, &pm.Datums[i]) % parts); got != p {
						t.Errorf("datum %s in partition %d; its series is in %d", pm.Datums[i].MetricName, p, got)
					}
					datums++
				}
			}
			if l.Ingestion != 7 || l.Group != "g" {
				t.Errorf("part lost the record's stream or ingestion time: %+v", l)
			}
		}
	}
	if events != 2 || datums != 16 {
		t.Errorf("%d events and %d datums shipped; want 2 and 16", events, datums)
	}
}
