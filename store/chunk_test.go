package store

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cellwatch/cellwatch/internal/record"
)

// randomAggregates returns n aggregates ascending by (Start, Width) with a
// mix of shapes: single values, repeated values, spreads with sketches,
// negative values, irreducible statistic sets, odd floats.
func randomAggregates(rng *rand.Rand, n int) []Aggregate {
	out := make([]Aggregate, n)
	start := int64(rng.IntN(1e9)) * 60
	for i := range out {
		a := &out[i]
		switch rng.IntN(10) {
		case 0:
			a.Width = 1
			start += int64(rng.IntN(3))
		case 1:
			a.Width = 300
			start += 300
		default:
			a.Width = 60
			start += 60 * int64(1+rng.IntN(2))
		}
		a.Start = start
		switch rng.IntN(8) {
		case 0: // spread of decimals
			for range 1 + rng.IntN(30) {
				a.AddValue(math.Round(rng.ExpFloat64()*1000)/10, 1)
			}
		case 1: // random floats with weights
			for range 1 + rng.IntN(10) {
				a.AddValue(math.Exp(rng.NormFloat64()*4), float64(1+rng.IntN(1000)))
			}
		case 2: // negative
			a.AddValue(-rng.Float64(), 1)
			a.AddValue(rng.Float64(), 1)
		case 3: // irreducible statistic set
			d := stats(float64(2+rng.IntN(100)), rng.Float64()*100, rng.Float64(), 1+rng.Float64())
			a.AddDatum(&d)
		case 4: // repeated equal value
			v := float64(rng.IntN(100))
			for range 1 + rng.IntN(5) {
				a.AddValue(v, 1)
			}
		case 5: // odd floats
			vals := []float64{0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64 / 4, 1e-300, 0.1, 1.0 / 3}
			a.AddValue(vals[rng.IntN(len(vals))], 1)
			if rng.IntN(2) == 0 {
				a.AddValue(vals[rng.IntN(len(vals))], 1)
			}
		case 6: // fractional counts
			a.AddValue(rng.Float64()*10, 0.25)
			a.AddValue(rng.Float64()*10, 1.5)
		default: // one latency with one decimal
			a.AddValue(math.Round((100+rng.NormFloat64()*20)*10)/10, 1)
		}
		if rng.IntN(3) > 0 { // a last value: a sample in the bucket
			ts := a.Start*1000 + rng.Int64N(a.Width*1000)
			v := []float64{a.Min, a.Max, math.Round(rng.Float64()*1000) / 10, rng.NormFloat64()}[rng.IntN(4)]
			d := record.Datum{Timestamp: ts, Value: v, Sample: true}
			a.AddDatum(&d)
		}
	}
	return out
}

func TestChunkRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		aggs := randomAggregates(rng, 1+rng.IntN(100))
		data, st := encodeChunk(aggs)
		got, err := decodeChunk(data, aggs[0].Start)
		if err != nil {
			t.Fatalf("trial %d: decode: %v", trial, err)
		}
		if len(got) != len(aggs) {
			t.Fatalf("trial %d: got %d buckets; want %d", trial, len(got), len(aggs))
		}
		for i := range aggs {
			if !sameAggregate(&got[i], &aggs[i]) {
				t.Fatalf("trial %d bucket %d: got %+v (sketch %+v); want %+v (sketch %+v)",
					trial, i, got[i], got[i].sk, aggs[i], aggs[i].sk)
			}
		}
		if st != tailState(chunk{data: data, first: aggs[0].Start}) {
			t.Fatalf("trial %d: encoder and decoder states differ", trial)
		}
	}
}

func TestChunkAppendMatchesEncode(t *testing.T) {
	// Appending bucket by bucket (sealing) and encoding at once agree.
	rng := rand.New(rand.NewPCG(7, 8))
	aggs := randomAggregates(rng, 200)
	st := newCodecState(aggs[0].Start)
	var b []byte
	for i := range aggs {
		b = appendBucket(b, &st, &aggs[i])
	}
	want, _ := encodeChunk(aggs)
	if string(b) != string(want) {
		t.Fatalf("got %d bytes by appending; want the %d bytes of encodeChunk", len(b), len(want))
	}
}

func TestChunkCompactSingleValues(t *testing.T) {
	// 180 one-minute buckets of one latency with one decimal each: the
	// common case must take only a few bytes per bucket.
	rng := rand.New(rand.NewPCG(9, 10))
	aggs := make([]Aggregate, 180)
	for i := range aggs {
		aggs[i] = Aggregate{Start: 1_700_000_040 + int64(i)*60, Width: 60}
		aggs[i].AddValue(math.Round((120+rng.NormFloat64()*15)*10)/10, 1)
	}
	data, _ := encodeChunk(aggs)
	if perBucket := float64(len(data)) / 180; perBucket > 4.5 {
		t.Errorf("got %.2f bytes per bucket; want at most 4.5", perBucket)
	}
}

func TestChunkCorruptInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	aggs := randomAggregates(rng, 50)
	data, _ := encodeChunk(aggs)
	for cut := range len(data) {
		// Must not panic; may or may not report an error.
		_, _ = decodeChunk(data[:cut], aggs[0].Start)
	}
	bad := append([]byte{}, data...)
	for i := range 200 {
		bad[rng.IntN(len(bad))] ^= byte(1 + i%255)
		_, _ = decodeChunk(bad, aggs[0].Start)
	}
}

func TestAggregateBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, a := range randomAggregates(rng, 200) {
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Aggregate
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if !sameAggregate(&got, &a) {
			t.Fatalf("got %+v; want %+v", got, a)
		}
	}
	var a Aggregate
	if err := a.UnmarshalBinary([]byte{9}); err == nil {
		t.Errorf("got no error for an unknown version; want one")
	}
}

func FuzzChunkDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(15, 16))
	data, _ := encodeChunk(randomAggregates(rng, 20))
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		aggs, err := decodeChunk(b, 0)
		if err != nil || len(aggs) == 0 {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, _ := encodeChunk(aggs)
		got, err := decodeChunk(again, aggs[0].Start)
		if err != nil || len(got) != len(aggs) {
			t.Fatalf("re-decode: %v (%d of %d)", err, len(got), len(aggs))
		}
		for i := range aggs {
			if !sameAggregate(&got[i], &aggs[i]) {
				t.Fatalf("bucket %d: got %+v; want %+v", i, got[i], aggs[i])
			}
		}
	})
}
