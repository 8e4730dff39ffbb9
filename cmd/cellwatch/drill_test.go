package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestDrillEndsWithAPassingVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("the drill runs for seconds")
	}
	var out bytes.Buffer
	v, err := drill(context.Background(), drillConfig{healthy: 2 * time.Second, outage: 3 * time.Second, writers: 4,
		interval: 10 * time.Millisecond, dir: t.TempDir(), out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !v.ok() || v.Written == 0 || v.InLongTerm != v.Written || v.InLocal != v.Written {
		t.Errorf("verdict %+v; want every written datum once in both stores\n%s", v, out.String())
	}
	for _, want := range []string{"mode=degraded", "verdict", "lost                               0", "PASS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("drill output lacks %q", want)
		}
	}
}
