package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cellwatch/cellwatch"

// allowed names, per unit, the units of this module it may import. A unit is
// the longest key below that is a path prefix of a package (so
// alerting/notify has rules of its own, apart from alerting); a unit may
// always import its own packages. "internal" in a rule allows every package
// under internal/; the small helpers there are leaves. The rules are
// docs/design.md §5's; cmd may import anything.
var allowed = map[string][]string{
	"internal":           {"internal/decode", "internal/dirlock", "internal/pebblelog", "internal/seglog", "internal/kitlog", "internal/procstat"},
	"internal/seglog":    {"internal/dirlock", "internal/decode"},
	"internal/decode":    {},
	"internal/dirlock":   {},
	"internal/pebblelog": {},
	"internal/kitlog":    {},
	"internal/procstat":  {},
	"stream":             {"internal"},
	"store":              {"internal"},
	"fallback":           {"stream", "internal"},
	"ingest":             {"fallback", "internal"},
	"query":              {"store", "fallback", "internal"},
	"alerting":           {"query", "alerting/notify", "internal"},
	"alerting/alarmapi":  {"alerting", "alerting/notify", "query", "internal"},
	"alerting/notify":    {"internal"},
	"dashboards":         {"query", "alerting", "internal"},
	"logs":               {"store", "query", "internal"},
	"cluster":            {"internal/kitlog", "internal/procstat"},
}

// onlyIn names, per third-party package prefix, the one unit that may
// import it: dskit's ring and its KV stores (memberlist, and through kv the
// Consul and etcd clients) belong to cluster; the others reach membership
// through interfaces of their own that cmd fills (docs/design.md §5).
var onlyIn = map[string]string{
	"github.com/grafana/dskit/ring": "cluster",
	"github.com/grafana/dskit/kv":   "cluster",
}

// unitOf maps an import path of this module to its unit: the longest key of
// allowed that is a prefix of it, or its first path element when none is.
func unitOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	unit := ""
	for key := range allowed {
		if (rest == key || strings.HasPrefix(rest, key+"/")) && len(key) > len(unit) {
			unit = key
		}
	}
	if unit == "" {
		unit, _, _ = strings.Cut(rest, "/")
	}
	return unit, true
}

// permits reports whether rules let a unit import unit to.
func permits(rules []string, to string) bool {
	underInternal := to == "internal" || strings.HasPrefix(to, "internal/")
	return slices.Contains(rules, to) || underInternal && slices.Contains(rules, "internal")
}

// violations lists the imports of graph (package -> direct imports) that go
// against the data flow.
func violations(graph map[string][]string) []string {
	var bad []string
	for pkg, imports := range graph {
		from, ok := unitOf(pkg)
		if !ok || from == "cmd" {
			continue
		}
		rules, known := allowed[from]
		if !known {
			bad = append(bad, pkg+": package "+from+" has no rule in docs/design.md §5; add one here")
			continue
		}
		for _, imp := range imports {
			to, ours := unitOf(imp)
			if !ours || to == from {
				continue
			}
			if !permits(rules, to) {
				bad = append(bad, pkg+" imports "+imp)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestImportsFollowDataFlow(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			graph[fields[0]] = fields[1:]
		}
	}
	if len(graph) < 5 {
		t.Fatalf("go list found %d packages; want the whole module", len(graph))
	}
	if bad := violations(graph); len(bad) > 0 {
		t.Errorf("imports against the data flow (docs/design.md §5):\n%s", strings.Join(bad, "\n"))
	}
	if bad := misplaced(graph); len(bad) > 0 {
		t.Errorf("third-party packages imported outside their unit (docs/design.md §5):\n%s", strings.Join(bad, "\n"))
	}
}

// misplaced lists the imports of graph of a package of onlyIn by a package
// outside the unit onlyIn names for it (cmd included: it wires that unit).
func misplaced(graph map[string][]string) []string {
	var bad []string
	for pkg, imports := range graph {
		from, ok := unitOf(pkg)
		if !ok {
			continue
		}
		for _, imp := range imports {
			for prefix, unit := range onlyIn {
				if (imp == prefix || strings.HasPrefix(imp, prefix+"/")) && from != unit {
					bad = append(bad, pkg+" imports "+imp+", which only "+unit+" may")
				}
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestMisplacedCatchesThirdPartyImports(t *testing.T) {
	for name, tc := range map[string]struct {
		graph map[string][]string
		want  int
	}{
		"cluster importing the ring":   {map[string][]string{module + "/cluster": {"github.com/grafana/dskit/ring", "github.com/grafana/dskit/kv/memberlist"}}, 0},
		"store importing the ring":     {map[string][]string{module + "/store": {"github.com/grafana/dskit/ring"}}, 1},
		"cmd importing memberlist":     {map[string][]string{module + "/cmd/cellwatch": {"github.com/grafana/dskit/kv/memberlist"}}, 1},
		"services are for everyone":    {map[string][]string{module + "/fallback": {"github.com/grafana/dskit/services"}}, 0},
		"a look-alike prefix is fine":  {map[string][]string{module + "/query": {"github.com/grafana/dskit/ringbuffer"}}, 0},
		"alerting importing the kv":    {map[string][]string{module + "/alerting": {"github.com/grafana/dskit/kv"}}, 1},
		"cluster importing our store":  {map[string][]string{module + "/cluster": {module + "/store"}}, 0}, // violations' business
		"other modules are not judged": {map[string][]string{"example.com/x": {"github.com/grafana/dskit/ring"}}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			if got := misplaced(tc.graph); len(got) != tc.want {
				t.Errorf("got %d %v; want %d", len(got), got, tc.want)
			}
		})
	}
}

func TestViolationsCatchesBackwardImports(t *testing.T) {
	for name, tc := range map[string]struct {
		graph map[string][]string
		want  int
	}{
		"store importing ingest":     {map[string][]string{module + "/store": {module + "/ingest"}}, 1},
		"store importing fallback":   {map[string][]string{module + "/store/x": {module + "/fallback"}}, 1},
		"stream importing fallback":  {map[string][]string{module + "/stream": {module + "/fallback"}}, 1},
		"query importing ingest":     {map[string][]string{module + "/query": {module + "/ingest", module + "/store"}}, 1},
		"unknown top-level package":  {map[string][]string{module + "/util": {}}, 1},
		"ingest to fallback is fine": {map[string][]string{module + "/ingest": {module + "/fallback", module + "/internal/record", "fmt"}}, 0},
		"cmd imports anything":       {map[string][]string{module + "/cmd/cellwatch": {module + "/ingest", module + "/store"}}, 0},
		"ingest importing stream":    {map[string][]string{module + "/ingest": {module + "/stream"}}, 1},
		"alerting importing store":   {map[string][]string{module + "/alerting": {module + "/store"}}, 1},
		"internal importing store":   {map[string][]string{module + "/internal/record": {module + "/store"}}, 1},
		"internal among itself":      {map[string][]string{module + "/internal/record": {module + "/internal/decode", module + "/internal/awsapi"}}, 0},
		"a leaf importing internal":  {map[string][]string{module + "/internal/decode": {module + "/internal/record"}}, 1},
		"seglog importing record":    {map[string][]string{module + "/internal/seglog": {module + "/internal/record"}}, 1},
		"store to a leaf helper":     {map[string][]string{module + "/store": {module + "/internal/pebblelog", module + "/internal/decode"}}, 0},
		"notify importing alerting":  {map[string][]string{module + "/alerting/notify": {module + "/alerting"}}, 1},
		"notify importing alarmapi":  {map[string][]string{module + "/alerting/notify": {module + "/alerting/alarmapi"}}, 1},
		"alerting importing its api": {map[string][]string{module + "/alerting": {module + "/alerting/alarmapi"}}, 1},
		"alarmapi to alerting":       {map[string][]string{module + "/alerting/alarmapi": {module + "/alerting", module + "/alerting/notify"}}, 0},
		"alerting to notify":         {map[string][]string{module + "/alerting/x": {module + "/alerting/notify", module + "/query"}}, 0},
		"cluster importing store":    {map[string][]string{module + "/cluster": {module + "/store"}}, 1},
		"cluster importing internal": {map[string][]string{module + "/cluster": {module + "/internal/decode"}}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			if got := violations(tc.graph); len(got) != tc.want {
				t.Errorf("got %d violations %v; want %d", len(got), got, tc.want)
			}
		})
	}
}
