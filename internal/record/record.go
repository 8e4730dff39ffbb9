package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
	Timestamp  int64       // Unix milliseconds
	Value      float64
	Values     []float64
	Counts     []float64
	Stats      *StatisticSet
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
	d := decoder{b: b}
	if k := Kind(d.byte()); k != KindMetrics {
		return fmt.Errorf("decode metrics: kind %d: %w", k, ErrCorrupt)
	}
	m.Tenant = d.string()
	m.Namespace = d.string()
	n := d.count()
	m.Datums = slices.Grow(m.Datums[:0], n)[:n]
	for i := range m.Datums {
		dt := &m.Datums[i]
		dt.MetricName = d.string()
		nd := d.count()
		dt.Dimensions = slices.Grow(dt.Dimensions[:0], nd)[:nd]
		for j := range dt.Dimensions {
			dt.Dimensions[j] = Dimension{Name: d.string(), Value: d.string()}
		}
		dt.Unit = d.string()
		flags := d.byte()
		dt.HighRes = flags&flagHighRes != 0
		dt.Timestamp = d.varint()
		dt.Value, dt.Values, dt.Counts, dt.Stats = 0, dt.Values[:0], dt.Counts[:0], nil
		switch {
		case flags&formStats != 0:
			dt.Stats = &StatisticSet{SampleCount: d.float(), Sum: d.float(), Min: d.float(), Max: d.float()}
		case flags&formValues != 0:
			nv := d.count()
			for range nv {
				dt.Values = append(dt.Values, d.float())
				dt.Counts = append(dt.Counts, d.float())
			}
		default:
			dt.Value = d.float()
		}
		if d.err != nil {
			break
		}
	}
	if d.err != nil {
		return fmt.Errorf("decode metrics: %w", d.err)
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

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrCorrupt
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and bounds it by the bytes left, so a corrupt length
// cannot make the decoder allocate without limit.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}
