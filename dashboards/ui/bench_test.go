package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkOverview renders GET / with 100 alarms and a 10-widget dashboard
// of 3 metrics each (180 points a line), the reads answered by a fake: the
// cost of laying out and writing the page alone.
func BenchmarkOverview(b *testing.B) {
	var alarms fakeAlarms
	for i := range 100 {
		alarms = append(alarms, alarm(fmt.Sprintf("alarm-%03d", i), "OK", "Threshold Crossed: 1 datapoint [3.0] was not greater than the threshold (100.0)."))
	}
	widgets := make([]string, 10)
	for i := range widgets {
		widgets[i] = fmt.Sprintf(`{"type":"metric","properties":{"title":"w%d","stat":"Average","period":60,"metrics":[["App","Latency","Host","h%d"],[".","Errors",".","."],[".","Requests",".","."]]}}`, i, i)
	}
	h, _ := testHandler("default", alarms, fakeBoards{"ops": `{"widgets":[` + strings.Join(widgets, ",") + `]}`})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `<path class="series"`) != 30 {
			b.Fatalf("GET / = %d", rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
