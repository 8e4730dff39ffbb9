package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
)

// WAL is where accepted records go before they are acknowledged.
type WAL interface {
	Append(ctx context.Context, rec []byte) (offset uint64, err error)
}

// LocalStore is the node's in-memory recent window, applied after the WAL.
type LocalStore interface {
	// Admit reports whether the store has room; its error says why not.
	Admit() error
	Apply(m *record.Metrics)
}

// Metrics ingests PutMetricData calls.
type Metrics struct {
	wal     WAL
	store   LocalStore
	now     func() time.Time
	logger  *slog.Logger
	tenants *TenantLimits // nil: no datum rate
	known   SeriesKnown   // nil: new series are not counted

	datums prometheus.Counter
}

// NewMetrics returns the PutMetricData handler's owner. now may be nil.
func NewMetrics(wal WAL, store LocalStore, now func() time.Time, reg prometheus.Registerer, logger *slog.Logger) *Metrics {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Metrics{
		wal: wal, store: store, now: now, logger: logger,
		datums: promauto.With(reg).NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_ingest_datums_total",
			Help: "Datums accepted by PutMetricData (a Values list counts once).",
		}),
	}
}

// SeriesKnown reports whether the node holds the series of d already.
type SeriesKnown func(tenant, namespace string, d *record.Datum) bool

// RateLimit takes every call's datums, and the datums of series known does
// not know, from its tenant's buckets in t.
func (m *Metrics) RateLimit(t *TenantLimits, known SeriesKnown) { m.tenants, m.known = t, known }

// newSeries counts rec's datums of series the node does not hold (a new
// series given twice in one call counts twice).
func (m *Metrics) newSeries(rec *record.Metrics) int {
	if m.known == nil || !m.tenants.limitsNewSeries() {
		return 0
	}
	n := 0
	for i := range rec.Datums {
		if !m.known(rec.Tenant, rec.Namespace, &rec.Datums[i]) {
			n++
		}
	}
	return n
}

// PutMetricData validates, logs and applies one PutMetricData call.
func (m *Metrics) PutMetricData(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	rec, err := parsePutMetricData(req.Input, m.now())
	if err != nil {
		return nil, err
	}
	rec.Tenant = awsapi.TenantOf(req)
	if aerr := m.tenants.AllowNewSeries(rec.Tenant, m.newSeries(rec)); aerr != nil {
		return nil, aerr
	}
	if aerr := m.tenants.AllowDatums(rec.Tenant, len(rec.Datums)); aerr != nil {
		return nil, aerr
	}
	if err := m.store.Admit(); err != nil {
		return nil, awsapi.ServiceUnavailable("%v", err)
	}
	buf := record.AppendMetrics(make([]byte, 0, 64+req.BodyBytes/2), rec)
	if _, err := appendWAL(ctx, m.wal, buf, "datums"); err != nil {
		return nil, err
	}
	m.store.Apply(rec)
	m.datums.Add(float64(len(rec.Datums)))
	return nil, nil
}

// appendWAL appends rec to w and answers a failure with the AWS error a
// client should see: what names what was not stored.
func appendWAL(ctx context.Context, w WAL, rec []byte, what string) (uint64, error) {
	off, err := w.Append(ctx, rec)
	switch {
	case err == nil:
		return off, nil
	case errors.Is(err, syscall.ENOSPC):
		return 0, awsapi.ServiceUnavailable("the node's disk is full; the %s were not stored: %v", what, err)
	case ctx.Err() != nil:
		return 0, awsapi.InternalFailure("request cancelled before its %s were durable: %v", what, err)
	}
	return 0, awsapi.InternalFailure("append to write-ahead log: %v", err)
}

// Validation limits of PutMetricData (docs/cloudwatch-api.md §2).
const (
	maxMetricsPerCall = 1000
	maxDimensions     = 30
	maxValues         = 150
	maxNameLen        = 255
	maxDimValueLen    = 1024
	maxPast           = 14 * 24 * time.Hour
	maxFuture         = 2 * time.Hour
)

// maxAbsValue is 2^360, the largest magnitude CloudWatch accepts.
var maxAbsValue = func() float64 {
	v := 1.0
	for range 360 {
		v *= 2
	}
	return v
}()

func parsePutMetricData(in awsapi.Input, now time.Time) (*record.Metrics, error) {
	ns := in.String("Namespace")
	if err := validateNamespace(ns, in.Has("Namespace")); err != nil {
		return nil, err
	}
	data := in.Structs("MetricData")
	switch {
	case len(data) == 0:
		return nil, awsapi.MissingParameter("The parameter MetricData is required.")
	case len(data) > maxMetricsPerCall:
		return nil, awsapi.InvalidParameterValue("The collection MetricData must not have a size greater than %d.", maxMetricsPerCall)
	}
	rec := &record.Metrics{Namespace: ns, Datums: make([]record.Datum, len(data))}
	for i, d := range data {
		if err := parseDatum(d, fmt.Sprintf("MetricData.member.%d", i+1), now, &rec.Datums[i]); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func validateNamespace(ns string, present bool) error {
	switch {
	case !present:
		return awsapi.MissingParameter("The parameter Namespace is required.")
	case len(ns) < 1 || len(ns) > maxNameLen:
		return awsapi.ConstraintError(ns, "namespace", fmt.Sprintf("have length between 1 and %d", maxNameLen))
	case ns[0] == ':':
		return awsapi.ConstraintError(ns, "namespace", "satisfy regular expression pattern: [^:].*")
	case len(ns) >= 4 && ns[:4] == "AWS/":
		return awsapi.InvalidParameterValue("The value %s for parameter Namespace is invalid: the AWS/ prefix is reserved for AWS services.", ns)
	}
	for _, c := range []byte(ns) {
		if c < 0x20 || c >= 0x7f {
			return awsapi.InvalidParameterValue("The value %s for parameter Namespace is invalid: it must contain only printable ASCII characters.", ns)
		}
	}
	return nil
}

func parseDatum(in awsapi.Input, path string, now time.Time, d *record.Datum) error {
	d.MetricName = in.String("MetricName")
	switch {
	case !in.Has("MetricName"):
		return awsapi.MissingParameter("The parameter %s.MetricName is required.", path)
	case len(d.MetricName) < 1 || len(d.MetricName) > maxNameLen:
		return awsapi.ConstraintError(d.MetricName, awsapi.CoralPath(path+".MetricName"), fmt.Sprintf("have length between 1 and %d", maxNameLen))
	}
	if err := awsapi.CheckName(d.MetricName, path+".MetricName"); err != nil {
		return err
	}
	if err := parseDimensions(in, path, d); err != nil {
		return err
	}
	if err := parseForm(in, path, d); err != nil {
		return err
	}
	unit := in.String("Unit")
	if !in.Has("Unit") {
		unit = "None"
	}
	if err := awsapi.CheckUnit(unit, path+".Unit"); err != nil {
		return err
	}
	d.Unit = unit
	res, hasRes, err := in.Int("StorageResolution")
	if err != nil {
		return err
	}
	if hasRes && res != 1 && res != 60 {
		return awsapi.InvalidParameterValue("The value %d for parameter %s.StorageResolution is invalid.", res, path)
	}
	d.HighRes = hasRes && res == 1
	ts, hasTS, err := in.Time("Timestamp")
	if err != nil {
		return err
	}
	if !hasTS {
		ts = now
	}
	switch {
	case ts.Before(now.Add(-maxPast)):
		return awsapi.InvalidParameterValue("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", path)
	case ts.After(now.Add(maxFuture)):
		return awsapi.InvalidParameterValue("The parameter %s.Timestamp must specify a time no more than two hours in the future.", path)
	}
	d.Timestamp = ts.UnixMilli()
	return nil
}

func parseDimensions(in awsapi.Input, path string, d *record.Datum) error {
	dims := in.Structs("Dimensions")
	if len(dims) > maxDimensions {
		return awsapi.InvalidParameterValue("The collection %s.Dimensions must not have a size greater than %d.", path, maxDimensions)
	}
	d.Dimensions = d.Dimensions[:0]
	seen := make(map[string]bool, len(dims))
	for j, dim := range dims {
		p := fmt.Sprintf("%s.Dimensions.member.%d", path, j+1)
		name, value := dim.String("Name"), dim.String("Value")
		switch {
		case !dim.Has("Name"):
			return awsapi.MissingParameter("The parameter %s.Name is required.", p)
		case !dim.Has("Value"):
			return awsapi.MissingParameter("The parameter %s.Value is required.", p)
		case len(name) < 1 || len(name) > maxNameLen:
			return awsapi.ConstraintError(name, awsapi.CoralPath(p+".Name"), fmt.Sprintf("have length between 1 and %d", maxNameLen))
		case len(value) < 1 || len(value) > maxDimValueLen:
			return awsapi.ConstraintError(value, awsapi.CoralPath(p+".Value"), fmt.Sprintf("have length between 1 and %d", maxDimValueLen))
		case seen[name]:
			return awsapi.InvalidParameterValue("The dimension %s is specified more than once in %s.Dimensions.", name, path)
		}
		if err := awsapi.CheckName(name, p+".Name"); err != nil {
			return err
		}
		if err := awsapi.CheckName(value, p+".Value"); err != nil {
			return err
		}
		seen[name] = true
		d.Dimensions = append(d.Dimensions, record.Dimension{Name: name, Value: value})
	}
	record.SortDimensions(d.Dimensions)
	return nil
}

// parseForm reads exactly one of Value, Values (+Counts) and StatisticValues.
func parseForm(in awsapi.Input, path string, d *record.Datum) error {
	hasValue, hasValues, hasStats := in.Has("Value"), len(in.List("Values")) > 0, in.Has("StatisticValues")
	for _, pair := range [][2]string{{"Value", "Values"}, {"Value", "StatisticValues"}, {"Values", "StatisticValues"}} {
		a := map[string]bool{"Value": hasValue, "Values": hasValues, "StatisticValues": hasStats}
		if a[pair[0]] && a[pair[1]] {
			return awsapi.InvalidParameterCombination("The parameters %s.%s and %s.%s are mutually exclusive and you have specified both.", path, pair[0], path, pair[1])
		}
	}
	switch {
	case hasValue:
		v, _, err := in.Float("Value")
		if err != nil {
			return err
		}
		d.Value = v
		return checkValue(v, path+".Value")
	case hasValues:
		return parseValues(in, path, d)
	case hasStats:
		return parseStats(in.Struct("StatisticValues"), path+".StatisticValues", d)
	}
	return awsapi.MissingParameter("The parameter %s.Value, %s.Values or %s.StatisticValues is required.", path, path, path)
}

func parseValues(in awsapi.Input, path string, d *record.Datum) error {
	values, err := in.Floats("Values")
	if err != nil {
		return err
	}
	if len(values) > maxValues {
		return awsapi.InvalidParameterValue("The collection %s.Values must not have a size greater than %d.", path, maxValues)
	}
	for j, v := range values {
		if err := checkValue(v, fmt.Sprintf("%s.Values.member.%d", path, j+1)); err != nil {
			return err
		}
	}
	counts, err := in.Floats("Counts")
	if err != nil {
		return err
	}
	if len(counts) == 0 {
		counts = make([]float64, len(values))
		for j := range counts {
			counts[j] = 1
		}
	}
	if len(counts) != len(values) {
		return awsapi.InvalidParameterValue("The parameters %s.Values and %s.Counts must be of the same size.", path, path)
	}
	for j, c := range counts {
		if c < 0 || c != c || c > maxAbsValue {
			return awsapi.InvalidParameterValue("The value %v for parameter %s.Counts.member.%d is invalid.", c, path, j+1)
		}
	}
	d.Values, d.Counts = values, counts
	return nil
}

func parseStats(s awsapi.Input, path string, d *record.Datum) error {
	var v [4]float64
	for i, name := range []string{"SampleCount", "Sum", "Minimum", "Maximum"} {
		f, ok, err := s.Float(name)
		if err != nil {
			return err
		}
		if !ok {
			return awsapi.MissingParameter("The parameter %s.%s is required.", path, name)
		}
		if err := checkValue(f, path+"."+name); err != nil {
			return err
		}
		v[i] = f
	}
	switch {
	case v[0] <= 0:
		return awsapi.InvalidParameterValue("The value %v for parameter %s.SampleCount is invalid: it must be greater than 0.", v[0], path)
	case v[2] > v[3]:
		return awsapi.InvalidParameterValue("The parameter %s.Minimum must be less than or equal to the parameter %s.Maximum.", path, path)
	}
	d.Stats = &record.StatisticSet{SampleCount: v[0], Sum: v[1], Min: v[2], Max: v[3]}
	return nil
}

func checkValue(v float64, param string) error {
	if v != v || v > maxAbsValue || v < -maxAbsValue {
		return awsapi.InvalidParameterValue("The value %s for parameter %s is invalid.", formatValue(v), param)
	}
	return nil
}
