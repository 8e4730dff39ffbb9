package query

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// TestWriteMatrix: the fast encoder writes what encoding/json writes for
// the same matrix.
func TestWriteMatrix(t *testing.T) {
	m := promql.Matrix{
		{Metric: labels.FromStrings("__name__", "a", "x", `q"uote`), Floats: []promql.FPoint{{T: 1000, F: 1.5}, {T: 1001, F: math.Inf(1)}, {T: -2500, F: math.NaN()}, {T: 1_700_000_000_120, F: -1e-9}}},
		{Metric: labels.FromStrings("__name__", "b"), Floats: []promql.FPoint{{T: 60_000, F: 0}}},
	}
	rec := httptest.NewRecorder()
	if err := writeMatrix(rec, m, []string{"w"}, nil); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(promResponse{Status: "success", Data: map[string]any{"resultType": m.Type(), "result": m}, Warnings: []string{"w"}})
	var g, w any
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	_ = json.Unmarshal(want, &w)
	gs, _ := json.Marshal(g)
	ws, _ := json.Marshal(w)
	if string(gs) != string(ws) {
		t.Errorf("got  %s\nwant %s", gs, ws)
	}
}
