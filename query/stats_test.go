package query

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseStatistic(t *testing.T) {
	type want struct {
		kind         statKind
		p, lo, hi    float64
		hasLo, hasHi bool
		pct, alarm   bool
	}
	ok := map[string]want{
		"Sum":                  {kind: kindSimple},
		"SampleCount":          {kind: kindSimple},
		"p0":                   {kind: kindPercentile, alarm: true},
		"p0.0":                 {kind: kindPercentile, alarm: true},
		"p99":                  {kind: kindPercentile, p: 99, alarm: true},
		"p99.9":                {kind: kindPercentile, p: 99.9, alarm: true},
		"p95.0123456789":       {kind: kindPercentile, p: 95.0123456789, alarm: true},
		"p100":                 {kind: kindPercentile, p: 100, alarm: true},
		"tm90":                 {kind: kindTM, hi: 90, hasHi: true, pct: true, alarm: true},
		"tm99":                 {kind: kindTM, hi: 99, hasHi: true, pct: true, alarm: true},
		"wm90":                 {kind: kindWM, hi: 90, hasHi: true, pct: true, alarm: true},
		"tc90":                 {kind: kindTC, hi: 90, hasHi: true, pct: true, alarm: true},
		"ts99.5":               {kind: kindTS, hi: 99.5, hasHi: true, pct: true, alarm: true},
		"tm100":                {kind: kindTM, hi: 100, hasHi: true, pct: true, alarm: true},
		"IQM":                  {kind: kindTM, lo: 25, hi: 75, hasLo: true, hasHi: true, pct: true, alarm: true},
		"TM(10%:90%)":          {kind: kindTM, lo: 10, hi: 90, hasLo: true, hasHi: true, pct: true, alarm: true},
		"TM(2%:98%)":           {kind: kindTM, lo: 2, hi: 98, hasLo: true, hasHi: true, pct: true},
		"TM(:95%)":             {kind: kindTM, hi: 95, hasHi: true, pct: true},
		"TS(80%:)":             {kind: kindTS, lo: 80, hasLo: true, pct: true},
		"TM(150:1000)":         {kind: kindTM, lo: 150, hi: 1000, hasLo: true, hasHi: true},
		"TC(0.005:0.030)":      {kind: kindTC, lo: 0.005, hi: 0.03, hasLo: true, hasHi: true},
		"TC(10%:90%)":          {kind: kindTC, lo: 10, hi: 90, hasLo: true, hasHi: true, pct: true, alarm: true},
		"WM(10%:90%)":          {kind: kindWM, lo: 10, hi: 90, hasLo: true, hasHi: true, pct: true, alarm: true},
		"WM(10%:90.5%)":        {kind: kindWM, lo: 10, hi: 90.5, hasLo: true, hasHi: true, pct: true},
		"TS(25%:75%)":          {kind: kindTS, lo: 25, hi: 75, hasLo: true, hasHi: true, pct: true, alarm: true},
		"WM(5:50)":             {kind: kindWM, lo: 5, hi: 50, hasLo: true, hasHi: true},
		"TM(:)":                {kind: kindTM, pct: true},
		"TM(50%:50%)":          {kind: kindTM, lo: 50, hi: 50, hasLo: true, hasHi: true, pct: true, alarm: true},
		"PR(:300)":             {kind: kindPR, hi: 300, hasHi: true, alarm: true},
		"PR(100:2000)":         {kind: kindPR, lo: 100, hi: 2000, hasLo: true, hasHi: true, alarm: true},
		"PR(100:)":             {kind: kindPR, lo: 100, hasLo: true, alarm: true},
		"TC(100000000000:)":    {kind: kindTC, lo: 1e11, hasLo: true},
		"TM(0%:100%)":          {kind: kindTM, lo: 0, hi: 100, hasLo: true, hasHi: true, pct: true},
		"PR(0.0000000001:0.5)": {kind: kindPR, lo: 1e-10, hi: 0.5, hasLo: true, hasHi: true, alarm: true},
	}
	for s, w := range ok {
		st, parsed := ParseStatistic(s)
		if !parsed {
			t.Errorf("%s: refused", s)
			continue
		}
		got := want{st.kind, st.p, st.lo, st.hi, st.hasLo, st.hasHi, st.pct, st.AlarmAllowed()}
		if got != w {
			t.Errorf("%s: got %+v; want %+v", s, got, w)
		}
		if st.Name() != s || st.Extended() != (w.kind != kindSimple) {
			t.Errorf("%s: name %q, extended %v", s, st.Name(), st.Extended())
		}
	}
	bad := []string{
		"", "p", "p-1", "p100.1", "p101", "p+5", "p1e1", "p.5", "p5.", "p99.12345678901", "P99", "p 99", " p99",
		"tm", "tm101", "TM90", "tm(10%:90%)", "iqm", "IQM()", "Average ", "average", "Count",
		"TM", "TM()", "TM(10%)", "TM(10%:90%", "TM10%:90%)", "TM(10%:90%:95%)", "TM(90%:10%)", "TM(10%:101%)",
		"TM(10%:500)", "TM(150:10%)", "TM(1000:150)", "TM(-5:10)", "TM(1e3:)", "PR(1e6:)", "TM( 10%:90%)", "TM(10 %:90%)",
		"TM(10%%:90%)", "TM(.5:1)", "XX(1:2)", "PR(10%:90%)", "PR(:50%)", "tc", "ts1000", "wm-5", "(:)",
	}
	for _, s := range bad {
		if _, parsed := ParseStatistic(s); parsed {
			t.Errorf("%q: accepted", s)
		}
	}
}

func TestAlarmAllowed(t *testing.T) {
	allowed := "p90 p99.9 p0 p100 tm90 tm99 wm90 tc90 ts90 IQM PR(1:2) PR(:300) PR(5:) TM(10%:90%) TC(10%:90%) TS(20%:80%) WM(10%:10%) TM(90%:90%)"
	refused := "Sum Average TM(9%:90%) TM(10%:91%) TM(:90%) TS(80%:) TM(150:1000) TC(0.005:0.030) WM(5:50) TM(:) TM(0%:100%) TM(9.99%:50%)"
	for _, s := range strings.Fields(allowed) {
		if st, ok := ParseStatistic(s); !ok || !st.AlarmAllowed() {
			t.Errorf("%s: an alarm must take it", s)
		}
	}
	for _, s := range strings.Fields(refused) {
		if st, ok := ParseStatistic(s); !ok || st.AlarmAllowed() {
			t.Errorf("%s: an alarm must refuse it (parsed %v)", s, ok)
		}
	}
}

func TestAlarmPeriodsUnsupportedStatistic(t *testing.T) {
	s := New(Config{Local: &fakeStore{}}, nil)
	if _, _, err := s.AlarmPeriods(context.Background(), "t", "ns", "m", nil, "TM(10%:500)", "", 60, 0, 600); !errors.Is(err, ErrUnsupportedStatistic) {
		t.Errorf("got %v; want ErrUnsupportedStatistic", err)
	}
	if _, _, err := s.AlarmPeriods(context.Background(), "t", "ns", "m", nil, "TM(150:1000)", "", 60, 0, 600); err != nil {
		t.Errorf("TM(150:1000): %v", err)
	}
}
