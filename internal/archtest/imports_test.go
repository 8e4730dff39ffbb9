package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cellwatch/cellwatch"

// allowed names, per top-level package, the top-level packages of this module
// it may import. "internal" is open to all; cmd may import anything.
var allowed = map[string][]string{
	"internal":   {"internal"},
	"stream":     {"internal"},
	"store":      {"internal"},
	"fallback":   {"stream", "internal"},
	"ingest":     {"fallback", "stream", "internal"},
	"query":      {"store", "fallback", "internal"},
	"alerting":   {"query", "store", "internal"},
	"dashboards": {"query", "alerting", "store", "internal"},
}

// internalAllowed names, per package under internal/ listed here, the
// packages under internal/ it may import (the shared helpers are leaves).
// Packages under internal/ not listed may import any of them.
var internalAllowed = map[string][]string{
	"internal/dirlock":   {},
	"internal/pebblelog": {},
	"internal/decode":    {},
	"internal/seglog":    {"internal/dirlock"},
}

// internalPath returns path's part after the module ("internal/seglog")
// when path is under internal/.
func internalPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok || !strings.HasPrefix(rest, "internal/") {
		return "", false
	}
	return rest, true
}

// topLevel maps an import path of this module to its first path element.
func topLevel(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	top, _, _ := strings.Cut(rest, "/")
	return top, true
}

// violations lists the imports of graph (package -> direct imports) that go
// against the data flow.
func violations(graph map[string][]string) []string {
	var bad []string
	for pkg, imports := range graph {
		from, ok := topLevel(pkg)
		if !ok || from == "cmd" {
			continue
		}
		if in, ok := internalPath(pkg); ok {
			if rules, listed := internalAllowed[in]; listed {
				for _, imp := range imports {
					if to, ours := internalPath(imp); ours && !slices.Contains(rules, to) {
						bad = append(bad, pkg+" imports "+imp)
					}
				}
			}
		}
		rules, known := allowed[from]
		if !known {
			bad = append(bad, pkg+": top-level package "+from+" has no rule in docs/design.md §5; add one here")
			continue
		}
		for _, imp := range imports {
			to, ours := topLevel(imp)
			if !ours || to == from {
				continue
			}
			if !slices.Contains(rules, to) {
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
		"dirlock importing seglog":   {map[string][]string{module + "/internal/dirlock": {module + "/internal/seglog"}}, 1},
		"seglog importing dirlock":   {map[string][]string{module + "/internal/seglog": {module + "/internal/dirlock"}}, 0},
		"cmd imports anything":       {map[string][]string{module + "/cmd/cellwatch": {module + "/ingest", module + "/store"}}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			if got := violations(tc.graph); len(got) != tc.want {
				t.Errorf("got %d violations %v; want %d", len(got), got, tc.want)
			}
		})
	}
}
