package insights

import "testing"

func TestRunStatsCountByBin(t *testing.T) {
	q, err := Parse(`filter @message like "err" | stats count(*) by bin(1m)`)
	if err != nil {
		t.Fatal(err)
	}
	r := q.NewRun(Options{Account: "123456789012"})
	msgs := []string{"err a", "ok", "err b", "err c"}
	for i, m := range msgs {
		r.Add(&Event{Timestamp: int64(i) * 40_000, Message: m, Group: "g", Stream: "s"})
	}
	// minute 0: "err a" (0 s); minute 1: "err b" (80 s), "err c" (120 s is minute 2)
	want := map[string]string{"1970-01-01 00:00:00.000": "1", "1970-01-01 00:01:00.000": "1", "1970-01-01 00:02:00.000": "1"}
	got := r.Results()
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for _, row := range got {
		if row[0].Name != "bin(1m)" || row[1].Name != "count(*)" || want[row[0].Value] != row[1].Value {
			t.Errorf("row %v", row)
		}
	}
	if s := r.Stats(); s.RecordsScanned != 4 || s.RecordsMatched != 3 {
		t.Errorf("stats %+v", s)
	}
}
