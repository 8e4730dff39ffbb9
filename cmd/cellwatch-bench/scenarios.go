package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// scenario is one named load of the harness.
type scenario struct {
	name string
	run  func(b *bench, ctx context.Context) error
}

// scenarios in the order "all" runs them.
var scenarios = []scenario{
	{"put-cbor", func(b *bench, ctx context.Context) error { return b.putScenario(ctx, "cbor", false) }},
	{"put-json", func(b *bench, ctx context.Context) error { return b.putScenario(ctx, "json", true) }},
	{"put-query", func(b *bench, ctx context.Context) error { return b.putScenario(ctx, "query", false) }},
	{"get-metric-data", (*bench).getMetricData},
	{"promql", (*bench).promql},
	{"remote-write", (*bench).remoteWrite},
	{"alarms-at-scale", (*bench).alarmsAtScale},
	{"outage", (*bench).outage},
	{"put-logs", (*bench).putLogs},
}

type errPending string

func (e errPending) Error() string { return string(e) }

func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

func scenarioByName(name string) scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	panic("unknown scenario " + name) // names are checked by pickScenarios
}

// passes of the series pre-encoded, each a second apart, so a replay does
// not send one timestamp only.
const passes = 5

// putCalls are the shape's PutMetricData requests in protocol p over
// `passes` timestamps ending at ts.
func (b *bench) putCalls(ctx context.Context, p string, ts time.Time) ([]call, error) {
	var all []call
	for i := range passes {
		at := ts.Add(time.Duration(i-passes+1) * time.Second)
		var calls []call
		var err error
		switch p {
		case "cbor":
			calls, err = cborCalls(ctx, b.shape, at)
		case "json":
			calls, err = jsonCalls(b.shape, at)
		case "query":
			calls, err = queryCalls(b.shape, at)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, calls...)
	}
	return all, nil
}

func (b *bench) target() string {
	return fmt.Sprintf("%d series, %d/req, res %d, %d conns", b.shape.series, b.shape.datums, b.shape.resolution, b.concurrency)
}

// putScenario writes the shape in protocol p to a fresh cellwatch and,
// when withMoto, the same load to moto_server.
func (b *bench) putScenario(ctx context.Context, p string, withMoto bool) error {
	calls, err := b.putCalls(ctx, p, time.Now().Truncate(time.Second))
	if err != nil {
		return err
	}
	name := "put-" + p
	cw, err := b.startCellwatch(ctx)
	if err != nil {
		return err
	}
	stopProfile := b.startProfile(ctx, cw, name)
	r := b.measure(ctx, name, b.target(), cw, calls, b.duration)
	stopProfile()
	r.floor = b.putFloor(p)
	cw.stop()
	var peer *row
	if withMoto {
		if err, ok := b.skipped["moto_server"]; ok {
			peer = &row{scenario: name, target: b.target(), server: "moto_server", note: "skipped: " + err.Error()}
		} else if moto, err := b.startMoto(ctx); err != nil {
			peer = &row{scenario: name, target: b.target(), server: "moto_server", note: "skipped: " + err.Error()}
		} else {
			pr := b.measure(ctx, name, b.target(), moto, calls, b.duration)
			moto.stop()
			pr.bytesPerDatum = 0 // moto keeps everything in memory
			peer = &pr
			r.peer = pr.res.throughput()
		}
	}
	b.add(r)
	if peer != nil {
		b.add(*peer)
	}
	return nil
}

// putFloor is the best this machine could do for PutMetricData in p:
// decoding alone on every core.
func (b *bench) putFloor(p string) float64 { return b.floors.decode[p] * float64(cores()) }

// remoteWrite sends the same remote write 1.0 load to cellwatch,
// Prometheus and VictoriaMetrics.
func (b *bench) remoteWrite(ctx context.Context) error {
	ts := time.Now().Truncate(time.Second)
	var calls []call
	for i := range passes {
		c, err := remoteWriteCalls(b.shape, ts.Add(time.Duration(i-passes+1)*time.Second))
		if err != nil {
			return err
		}
		calls = append(calls, c...)
	}
	target := fmt.Sprintf("%d series, %d series/req, %d conns", b.shape.series, b.shape.datums, b.concurrency)
	starts := []struct {
		name  string
		start func(context.Context) (*server, error)
	}{{"cellwatch", func(ctx context.Context) (*server, error) { return b.startCellwatch(ctx) }},
		{"prometheus", b.startPrometheus}, {"victoria-metrics", b.startVictoria}}
	var rows []row
	best := 0.0
	for _, st := range starts {
		if err, ok := b.skipped[st.name]; ok {
			rows = append(rows, row{scenario: "remote-write", target: target, server: st.name, note: "skipped: " + err.Error()})
			continue
		}
		s, err := st.start(ctx)
		if err != nil {
			rows = append(rows, row{scenario: "remote-write", target: target, server: st.name, note: "skipped: " + err.Error()})
			continue
		}
		r := b.measure(ctx, "remote-write", target, s, calls, b.duration)
		r.unit = "samples/s"
		s.stop()
		if st.name != "cellwatch" {
			best = max(best, r.res.throughput())
		}
		rows = append(rows, r)
	}
	rows[0].peer = best
	for _, r := range rows {
		b.add(r)
	}
	return nil
}

// startProfile fetches the server's profile (b.profile) for the scenario
// into the cache's profiles directory, when the server serves
// /debug/pprof; the returned func waits for it.
func (b *bench) startProfile(ctx context.Context, s *server, scenario string) func() {
	if b.profile == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.fetchProfile(ctx, s, scenario); err != nil {
			b.logf("profile %s: %v", b.profile, err)
		}
	}()
	return func() { <-done }
}

func (b *bench) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	return resp, nil
}
