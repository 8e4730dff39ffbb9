package ingest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
)

// Limits of a remote-written sample (docs/remote-write.md).
const (
	// rwMaxAhead is Prometheus' own receiver's limit on future samples.
	rwMaxAhead = 10 * time.Minute
	// rwMaxPast is PutMetricData's: CloudWatch takes nothing older.
	rwMaxPast = maxPast
)

// Reasons a sample is dropped from a request that succeeds.
const (
	dropStale     = "stale_marker"
	dropNaN       = "nan"
	dropRange     = "out_of_range"
	dropHistogram = "native_histogram"
	dropExemplar  = "exemplar"
)

// converted is a remote write request mapped to one PutMetricData-shaped
// record, with what was left out of it.
type converted struct {
	rec     *record.Metrics
	dropped map[string]int
}

func (c *converted) drop(reason string, n int) {
	if n > 0 {
		c.dropped[reason] += n
	}
}

// sample is a timestamp (Unix ms) and value of either protocol version.
type sample struct {
	ts int64
	v  float64
}

// convertV1 maps a remote write 1.0 request.
func convertV1(req *prompb.WriteRequest, namespace string, now time.Time) (*converted, error) {
	c := &converted{rec: &record.Metrics{Namespace: namespace}, dropped: map[string]int{}}
	b := labels.NewScratchBuilder(0)
	var ss []sample
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		ss = ss[:0]
		for _, s := range ts.Samples {
			ss = append(ss, sample{ts: s.Timestamp, v: s.Value})
		}
		c.drop(dropHistogram, len(ts.Histograms))
		c.drop(dropExemplar, len(ts.Exemplars))
		if err := c.addSeries(ts.ToLabels(&b, nil), ss, now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// convertV2 maps a remote write 2.0 request (labels through its symbols).
func convertV2(req *writev2.Request, namespace string, now time.Time) (*converted, error) {
	c := &converted{rec: &record.Metrics{Namespace: namespace}, dropped: map[string]int{}}
	b := labels.NewScratchBuilder(0)
	var ss []sample
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		ls, err := ts.ToLabels(&b, req.Symbols)
		if err != nil {
			return nil, fmt.Errorf("parsing labels for series %v: %w", ts.LabelsRefs, err)
		}
		if len(ts.Samples) > 0 && len(ts.Histograms) > 0 {
			return nil, fmt.Errorf("series %s: TimeSeries must contain either samples or histograms, not both", ls.String())
		}
		ss = ss[:0]
		for _, s := range ts.Samples {
			ss = append(ss, sample{ts: s.Timestamp, v: s.Value})
		}
		c.drop(dropHistogram, len(ts.Histograms))
		c.drop(dropExemplar, len(ts.Exemplars))
		if err := c.addSeries(ls, ss, now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// addSeries validates one series and adds a datum per sample: namespace
// fixed, metric name from __name__, every other non-empty label a dimension,
// a 1 s (high-resolution) datum of unit None.
func (c *converted) addSeries(ls labels.Labels, ss []sample, now time.Time) error {
	name, dims, err := mapLabels(ls)
	if err != nil {
		return err
	}
	minTS, maxTS := now.Add(-rwMaxPast).UnixMilli(), now.Add(rwMaxAhead).UnixMilli()
	for _, s := range ss {
		switch {
		case s.ts > maxTS:
			return fmt.Errorf("out of bounds: series %s has a sample at %d, more than %v in the future", ls.String(), s.ts, rwMaxAhead)
		case s.ts < minTS:
			return fmt.Errorf("too old sample: series %s has a sample at %d, older than %v", ls.String(), s.ts, rwMaxPast)
		case value.IsStaleNaN(s.v):
			c.drop(dropStale, 1)
			continue
		case math.IsNaN(s.v):
			c.drop(dropNaN, 1)
			continue
		case math.Abs(s.v) > maxAbsValue:
			c.drop(dropRange, 1)
			continue
		}
		c.rec.Datums = append(c.rec.Datums, record.Datum{
			MetricName: name, Dimensions: dims, Unit: "None", HighRes: true, Sample: true, Timestamp: s.ts, Value: s.v,
		})
	}
	return nil
}

// mapLabels checks a series' labels as Prometheus does (a metric name,
// valid UTF-8, no duplicate names) and against CloudWatch's dimension
// limits, and returns its metric name and dimensions (sorted by name).
func mapLabels(ls labels.Labels) (string, []record.Dimension, error) {
	name := ls.Get(model.MetricNameLabel)
	if name == "" || !ls.IsValid(model.UTF8Validation) {
		return "", nil, fmt.Errorf("invalid metric name or labels, got %s", ls.String())
	}
	if dup, ok := ls.HasDuplicateLabelNames(); ok {
		return "", nil, fmt.Errorf("invalid labels for series, labels %s, duplicated label %s", ls.String(), dup)
	}
	if len(name) > maxNameLen {
		return "", nil, fmt.Errorf("received a series whose metric name length exceeds the limit of %d bytes, series: '%.200s'", maxNameLen, ls.String())
	}
	dims := make([]record.Dimension, 0, ls.Len()-1)
	var err error
	ls.Range(func(l labels.Label) {
		switch {
		case err != nil || l.Name == model.MetricNameLabel || l.Value == "":
			return
		case len(l.Name) > maxNameLen:
			err = fmt.Errorf("received a series whose label name length exceeds the limit of %d bytes, label: '%.200s' series: '%.200s'", maxNameLen, l.Name, ls.String())
		case len(l.Value) > maxDimValueLen:
			err = fmt.Errorf("received a series whose label value length exceeds the limit of %d bytes, label: '%s' value: '%.200s' (truncated) series: '%.200s'", maxDimValueLen, l.Name, l.Value, ls.String())
		}
		dims = append(dims, record.Dimension{Name: l.Name, Value: l.Value})
	})
	if err != nil {
		return "", nil, err
	}
	if len(dims) > maxDimensions {
		return "", nil, fmt.Errorf("received a series whose number of labels exceeds the limit (actual: %d, limit: %d; __name__ is not counted) series: '%.200s'", len(dims), maxDimensions, ls.String())
	}
	record.SortDimensions(dims)
	return name, dims, nil
}

type ctxTenant struct{}

func contextWithTenant(r *http.Request, tenant string) context.Context {
	return context.WithValue(r.Context(), ctxTenant{}, tenant)
}

func tenantOf(r *http.Request) string {
	if t, ok := r.Context().Value(ctxTenant{}).(string); ok && t != "" {
		return t
	}
	return awsapi.DefaultTenant
}
