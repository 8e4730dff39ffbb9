package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cellwatch/cellwatch/internal/decode"
)

// Kind is the first byte of every encoded record.
type Kind uint8

// Record kinds. New kinds are added at the end; a reader skips kinds it does
// not know.
const (
	KindMetrics Kind = 1
)

// ErrCorrupt is returned when an encoded record cannot be decoded.
var ErrCorrupt = errors.New("corrupt record")

// Dimension is one name/value pair of a metric.
type Dimension struct {
	Name  string
	Value string
}

// StatisticSet is a pre-aggregated datum (CloudWatch StatisticValues).
type StatisticSet struct {
	SampleCount, Sum, Min, Max float64
}

// Datum is one normalised CloudWatch datum. Exactly one of the three forms is
// used: Stats != nil, len(Values) > 0 (Counts has the same length), or Value.
type Datum struct {
	MetricName string
	Dimensions []Dimension // sorted by Name
	Unit       string      // "None" when the request gave none
	HighRes    bool        // StorageResolution 1
	// Sample marks a Prometheus sample (remote write): its Value is kept as
	// the bucket's last value with its timestamp (store.Aggregate.Last).
	Sample    bool
	Timestamp int64 // Unix milliseconds
	Value     float64
	Values    []float64
	Counts    []float64
	Stats     *StatisticSet
}

// Metrics is the record of one PutMetricData call.
type Metrics struct {
	Tenant    string
	Namespace string
	Datums    []Datum
}

// SortDimensions orders dims by name, as every encoded datum must be.
func SortDimensions(dims []Dimension) {
	slices.SortFunc(dims, func(a, b Dimension) int { return strings.Compare(a.Name, b.Name) })
}

const (
	flagHighRes = 1 << iota
	formValues
	formStats
	flagSample // added later; older records have it clear
)

// KindOf returns the kind of an encoded record.
func KindOf(b []byte) (Kind, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("read kind: %w", ErrCorrupt)
	}
	return Kind(b[0]), nil
}

// AppendMetrics appends the encoding of m to buf and returns the result.
func AppendMetrics(buf []byte, m *Metrics) []byte {
	buf = append(buf, byte(KindMetrics))
	buf = appendString(buf, m.Tenant)
	buf = appendString(buf, m.Namespace)
	buf = binary.AppendUvarint(buf, uint64(len(m.Datums)))
	for i := range m.Datums {
		d := &m.Datums[i]
		buf = appendString(buf, d.MetricName)
		buf = binary.AppendUvarint(buf, uint64(len(d.Dimensions)))
		for _, dim := range d.Dimensions {
			buf = appendString(buf, dim.Name)
			buf = appendString(buf, dim.Value)
		}
		buf = appendString(buf, d.Unit)
		var flags byte
		if d.HighRes {
			flags |= flagHighRes
		}
		if d.Sample {
			flags |= flagSample
		}
		switch {
		case d.Stats != nil:
			flags |= formStats
		case len(d.Values) > 0:
			flags |= formValues
		}
		buf = append(buf, flags)
		buf = binary.AppendVarint(buf, d.Timestamp)
		switch {
		case d.Stats != nil:
			buf = appendFloat(buf, d.Stats.SampleCount)
			buf = appendFloat(buf, d.Stats.Sum)
			buf = appendFloat(buf, d.Stats.Min)
			buf = appendFloat(buf, d.Stats.Max)
		case len(d.Values) > 0:
			buf = binary.AppendUvarint(buf, uint64(len(d.Values)))
			for j, v := range d.Values {
				buf = appendFloat(buf, v)
				buf = appendFloat(buf, d.Counts[j])
			}
		default:
			buf = appendFloat(buf, d.Value)
		}
	}
	return buf
}

// DecodeMetrics decodes a KindMetrics record into m, reusing m's slices.
// Strings are copied, so b may be reused after the call.
func DecodeMetrics(b []byte, m *Metrics) error {
	d := decode.New(b, ErrCorrupt)
	if k := Kind(d.Byte()); k != KindMetrics {
		return fmt.Errorf("decode metrics: kind %d: %w", k, ErrCorrupt)
	}
	m.Tenant = d.Str()
	m.Namespace = d.Str()
	n := d.Count()
	m.Datums = slices.Grow(m.Datums[:0], n)[:n]
	for i := range m.Datums {
		dt := &m.Datums[i]
		dt.MetricName = d.Str()
		nd := d.Count()
		dt.Dimensions = slices.Grow(dt.Dimensions[:0], nd)[:nd]
		for j := range dt.Dimensions {
			dt.Dimensions[j] = Dimension{Name: d.Str(), Value: d.Str()}
		}
		dt.Unit = d.Str()
		flags := d.Byte()
		dt.HighRes = flags&flagHighRes != 0
		dt.Sample = flags&flagSample != 0
		dt.Timestamp = d.Varint()
		dt.Value, dt.Values, dt.Counts, dt.Stats = 0, dt.Values[:0], dt.Counts[:0], nil
		switch {
		case flags&formStats != 0:
			dt.Stats = &StatisticSet{SampleCount: d.Float64(), Sum: d.Float64(), Min: d.Float64(), Max: d.Float64()}
		case flags&formValues != 0:
			nv := d.Count()
			for range nv {
				dt.Values = append(dt.Values, d.Float64())
				dt.Counts = append(dt.Counts, d.Float64())
			}
		default:
			dt.Value = d.Float64()
		}
		if d.Err() != nil {
			break
		}
	}
	if d.Err() != nil {
		return fmt.Errorf("decode metrics: %w", d.Err())
	}
	return nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendFloat(buf []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
}
