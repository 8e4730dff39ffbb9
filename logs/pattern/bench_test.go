package pattern

import (
	"strconv"
	"testing"
)

// lines returns n realistic ~200-byte log lines of the given shape.
func lines(shape string, n int) []string {
	out := make([]string, n)
	for i := range out {
		s := strconv.Itoa(i)
		switch shape {
		case "text":
			level := "INFO"
			if i%10 == 0 {
				level = "ERROR"
			}
			out[i] = "2026-12-02T14:00:00.123Z " + level + " [worker-" + s + "] request id=7f3c9a2e-" + s +
				" path=/api/v1/orders/" + s + " method=GET status=200 duration_ms=" + s + " upstream=orders.internal:8443 user=alice"
		case "space":
			out[i] = "10.0." + strconv.Itoa(i%256) + ".7 - alice [02/Dec/2026:14:00:00 +0000] \"GET /api/v1/orders/" + s +
				"?expand=items&page=2 HTTP/1.1\" " + strconv.Itoa(200+(i%4)*100) + " " + strconv.Itoa(900+i) +
				" \"-\" \"Mozilla/5.0 (X11; Linux x86_64) curl/8.5\" rt=0.0" + s
		default:
			out[i] = `{"time":"2026-12-02T14:00:00.123Z","level":"` + []string{"info", "warn", "error"}[i%3] +
				`","msg":"request served","path":"/api/v1/orders/` + s + `","status":` + strconv.Itoa(200+(i%4)*100) +
				`,"ms":` + strconv.Itoa(i%300) + `,"user":{"id":` + s + `,"name":"alice"},"tags":["a","b"]}`
		}
	}
	return out
}

func benchMatch(b *testing.B, pat, shape string) {
	p, err := Parse(pat)
	if err != nil {
		b.Fatal(err)
	}
	ls := lines(shape, 1024)
	total, hits := 0, 0
	for _, l := range ls {
		total += len(l)
		if _, ok := p.Match(l); ok {
			hits++
		}
	}
	if hits == 0 || hits == len(ls) {
		b.Fatalf("%d of %d lines match; the benchmark wants a mix", hits, len(ls))
	}
	b.SetBytes(int64(total / len(ls)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p.Match(ls[i%len(ls)])
	}
}

func BenchmarkMatchTerms(b *testing.B) {
	benchMatch(b, `ERROR ?orders ?payments -"health check"`, "text")
}
func BenchmarkMatchSpace(b *testing.B) {
	benchMatch(b, `[ip, id, user, timestamp, request, status = 5* || status = 4*, bytes > 1000, ...]`, "space")
}
func BenchmarkMatchJSON(b *testing.B) {
	benchMatch(b, `{ $.level = "error" && ($.status = 5* || $.ms > 100) }`, "json")
}
