package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"go.yaml.in/yaml/v3"
)

// grafanaDir holds the Grafana provisioning files.
const grafanaDir = "../../dashboards/grafana"

// TestGrafanaDashboards parses every dashboard JSON and runs each panel's
// PromQL expression through a live node's /api/v1/query_range: each must
// parse and answer success. The data sources file must name the node.
func TestGrafanaDashboards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(grafanaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", grafanaDir, err)
	}
	tn := startNode(t, testConfig(t, t.TempDir()))
	prom := tn.promClient(t, nil)
	now := time.Now()
	exprs := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil || d.UID == "" || len(d.Panels) == 0 {
			t.Fatalf("%s: %v (uid %q, %d panels)", file, err, d.UID, len(d.Panels))
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				exprs++
				_, _, _, err := prom.QueryRange(context.Background(), tg.Expr, v1.Range{Start: now.Add(-3 * time.Hour), End: now, Step: time.Minute})
				if err != nil {
					t.Errorf("%s, panel %q: %s: %v", filepath.Base(file), p.Title, tg.Expr, err)
				}
			}
		}
	}
	if exprs == 0 {
		t.Error("no panel has an expression")
	}
	raw, err := os.ReadFile(filepath.Join(grafanaDir, "datasources.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct {
			Type     string `yaml:"type"`
			URL      string `yaml:"url"`
			JSONData struct {
				Endpoint string `yaml:"endpoint"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &ds); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, d := range ds.Datasources {
		found[d.Type+" "+d.URL+d.JSONData.Endpoint] = true
	}
	if !found["prometheus http://127.0.0.1:4590"] || !found["cloudwatch http://127.0.0.1:4590"] {
		t.Errorf("data sources %v; want Prometheus and CloudWatch on http://127.0.0.1:4590", found)
	}
}
