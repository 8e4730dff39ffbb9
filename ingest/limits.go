package ingest

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// LimitsConfig bounds what requests may cost the node: the size and shape
// of one request, how long its headers and body may take to arrive, how
// many requests and bytes the node holds at once, and how fast each tenant
// may call and write. docs/security.md says what each answers.
type LimitsConfig struct {
	MaxBodyBytes         int64         `yaml:"max_body_bytes"`
	MaxDecompressedBytes int64         `yaml:"max_decompressed_bytes"`
	MaxElements          int           `yaml:"max_elements"`
	MaxDepth             int           `yaml:"max_depth"`
	ReadHeaderTimeout    time.Duration `yaml:"read_header_timeout"`
	ReadTimeout          time.Duration `yaml:"read_timeout"`
	MaxInflightRequests  int           `yaml:"max_inflight_requests"`
	MaxInflightBytes     int64         `yaml:"max_inflight_bytes"`
	TenantRequestRate    float64       `yaml:"tenant_request_rate"`
	TenantRequestBurst   int           `yaml:"tenant_request_burst"`
	TenantDatumRate      float64       `yaml:"tenant_datum_rate"`
	TenantDatumBurst     int           `yaml:"tenant_datum_burst"`
	TenantNewSeriesRate  float64       `yaml:"tenant_new_series_rate"`
	TenantNewSeriesBurst int           `yaml:"tenant_new_series_burst"`
}

// RegisterFlags binds the settings to -limits.* flags.
func (c *LimitsConfig) RegisterFlags(fs *flag.FlagSet) {
	d := awsapi.DefaultLimits
	fs.Int64Var(&c.MaxBodyBytes, "limits.max-body-bytes", d.MaxBodyBytes, "largest request body as sent (413 RequestEntityTooLarge above)")
	fs.Int64Var(&c.MaxDecompressedBytes, "limits.max-decompressed-bytes", d.MaxDecompressedBytes, "largest request body after gunzip (413 RequestEntityTooLarge above)")
	fs.IntVar(&c.MaxElements, "limits.max-elements", d.MaxElements, "most values (maps, lists, leaves; Query: parameters) one request may decode to; counted while decoding")
	fs.IntVar(&c.MaxDepth, "limits.max-depth", d.MaxDepth, "deepest nesting of maps and lists in a request")
	fs.DurationVar(&c.ReadHeaderTimeout, "limits.read-header-timeout", 10*time.Second, "time a connection has to send a request's headers")
	fs.DurationVar(&c.ReadTimeout, "limits.read-timeout", 30*time.Second, "time a request's body has to arrive once its headers are in (a slower body is cut with RequestTimeout, 408)")
	fs.IntVar(&c.MaxInflightRequests, "limits.max-inflight-requests", 256, "API requests the node serves at once; more are answered 503 ServiceUnavailable at once")
	fs.Int64Var(&c.MaxInflightBytes, "limits.max-inflight-bytes", 128<<20, "request body bytes (as declared, or -limits.max-body-bytes when not) the node holds at once; more are answered 503 ServiceUnavailable")
	fs.Float64Var(&c.TenantRequestRate, "limits.tenant-request-rate", 2000, "API requests per second per tenant (0: unlimited); over it: Throttling, 400, Rate exceeded")
	fs.IntVar(&c.TenantRequestBurst, "limits.tenant-request-burst", 4000, "requests a tenant may send at once above -limits.tenant-request-rate")
	fs.Float64Var(&c.TenantDatumRate, "limits.tenant-datum-rate", 500_000, "PutMetricData datums per second per tenant (0: unlimited); over it: Throttling")
	fs.IntVar(&c.TenantDatumBurst, "limits.tenant-datum-burst", 1_000_000, "datums a tenant may send at once above -limits.tenant-datum-rate (at least 1000, one full PutMetricData)")
	fs.Float64Var(&c.TenantNewSeriesRate, "limits.tenant-new-series-rate", 2000, "series a tenant may create per second (a datum of a series the local store does not hold; 0: unlimited); over it: Throttling")
	fs.IntVar(&c.TenantNewSeriesBurst, "limits.tenant-new-series-burst", 100_000, "series a tenant may create at once above -limits.tenant-new-series-rate (at least 1000)")
}

// Validate checks the settings.
func (c *LimitsConfig) Validate() error {
	var errs []error
	positive := []struct {
		flag string
		v    int64
	}{
		{"-limits.max-body-bytes", c.MaxBodyBytes}, {"-limits.max-decompressed-bytes", c.MaxDecompressedBytes},
		{"-limits.max-elements", int64(c.MaxElements)}, {"-limits.max-depth", int64(c.MaxDepth)},
		{"-limits.read-header-timeout", int64(c.ReadHeaderTimeout)}, {"-limits.read-timeout", int64(c.ReadTimeout)},
		{"-limits.max-inflight-requests", int64(c.MaxInflightRequests)}, {"-limits.max-inflight-bytes", c.MaxInflightBytes},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", p.flag))
		}
	}
	if c.MaxDepth > 0 && c.MaxDepth < 8 {
		errs = append(errs, fmt.Errorf("-limits.max-depth %d is below 8: GetMetricData's queries nest that deep", c.MaxDepth))
	}
	if c.MaxInflightBytes > 0 && c.MaxInflightBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("-limits.max-inflight-bytes %d is below -limits.max-body-bytes %d: a large request could never be served", c.MaxInflightBytes, c.MaxBodyBytes))
	}
	if c.TenantRequestRate < 0 || c.TenantDatumRate < 0 || c.TenantNewSeriesRate < 0 {
		errs = append(errs, errors.New("-limits.tenant-*-rate must not be negative"))
	}
	if c.TenantNewSeriesRate > 0 && c.TenantNewSeriesBurst < maxMetricsPerCall {
		errs = append(errs, fmt.Errorf("-limits.tenant-new-series-burst %d is below %d: a PutMetricData of new series would never pass", c.TenantNewSeriesBurst, maxMetricsPerCall))
	}
	if c.TenantRequestRate > 0 && c.TenantRequestBurst < 1 {
		errs = append(errs, errors.New("-limits.tenant-request-burst must be at least 1"))
	}
	if c.TenantDatumRate > 0 && c.TenantDatumBurst < maxMetricsPerCall {
		errs = append(errs, fmt.Errorf("-limits.tenant-datum-burst %d is below %d: a full PutMetricData would never pass", c.TenantDatumBurst, maxMetricsPerCall))
	}
	return errors.Join(errs...)
}

// Decode is the part of c the decoders apply.
func (c LimitsConfig) Decode() awsapi.Limits {
	return awsapi.Limits{MaxBodyBytes: c.MaxBodyBytes, MaxDecompressedBytes: c.MaxDecompressedBytes, MaxElements: c.MaxElements, MaxDepth: c.MaxDepth}
}

// inflight admits requests while the node holds fewer than its caps; it
// never waits.
type inflight struct {
	maxRequests, maxBytes, bodyBytes int64
	requests, bytes                  atomic.Int64
}

// admit charges r or says which cap it is over; release undoes a charge.
func (f *inflight) admit(r *http.Request) (charge int64, aerr *awsapi.Error) {
	charge = f.bodyBytes
	if r.ContentLength >= 0 && r.ContentLength < charge {
		charge = r.ContentLength
	}
	if f.requests.Add(1) > f.maxRequests {
		f.requests.Add(-1)
		aerr = awsapi.ServiceUnavailable("The node is serving %d requests, its limit; retry later.", f.maxRequests)
		aerr.Limit = "inflight_requests"
		return 0, aerr
	}
	if f.bytes.Add(charge) > f.maxBytes {
		f.release(charge)
		aerr = awsapi.ServiceUnavailable("The node holds %d bytes of requests, its limit; retry later.", f.maxBytes)
		aerr.Limit = "inflight_bytes"
		return 0, aerr
	}
	return charge, nil
}

func (f *inflight) release(charge int64) {
	f.requests.Add(-1)
	f.bytes.Add(-charge)
}

// TenantLimits are per-tenant token buckets for requests, datums and new
// series.
type TenantLimits struct {
	requests, datums, series bucketSet
}

// bucketSet is one token bucket per tenant, all alike.
type bucketSet struct {
	rate  rate.Limit
	burst int
	code  string // the limit label of a refusal

	mu      sync.Mutex
	tenants map[string]*rate.Limiter
}

// NewTenantLimits returns the buckets c configures (a zero rate: none).
func NewTenantLimits(c LimitsConfig) *TenantLimits {
	return &TenantLimits{
		requests: bucketSet{rate: rate.Limit(c.TenantRequestRate), burst: c.TenantRequestBurst, code: "tenant_requests"},
		datums:   bucketSet{rate: rate.Limit(c.TenantDatumRate), burst: c.TenantDatumBurst, code: "tenant_datums"},
		series:   bucketSet{rate: rate.Limit(c.TenantNewSeriesRate), burst: c.TenantNewSeriesBurst, code: "tenant_new_series"},
	}
}

// AllowRequest takes one request from tenant's bucket.
func (t *TenantLimits) AllowRequest(tenant string) *awsapi.Error {
	if t == nil {
		return nil
	}
	return t.requests.take(tenant, 1)
}

// AllowDatums takes n datums from tenant's bucket, all or none.
func (t *TenantLimits) AllowDatums(tenant string, n int) *awsapi.Error {
	if t == nil {
		return nil
	}
	return t.datums.take(tenant, n)
}

// AllowNewSeries takes n new series from tenant's bucket, all or none.
func (t *TenantLimits) AllowNewSeries(tenant string, n int) *awsapi.Error {
	if t == nil || n == 0 {
		return nil
	}
	return t.series.take(tenant, n)
}

// limitsNewSeries reports whether new series are limited at all (counting
// them costs a lookup per datum).
func (t *TenantLimits) limitsNewSeries() bool { return t != nil && t.series.rate > 0 }

func (b *bucketSet) take(tenant string, n int) *awsapi.Error {
	if b.rate == 0 {
		return nil
	}
	b.mu.Lock()
	l, ok := b.tenants[tenant]
	if !ok {
		if b.tenants == nil {
			b.tenants = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(b.rate, b.burst)
		b.tenants[tenant] = l
	}
	b.mu.Unlock()
	if !l.AllowN(time.Now(), n) {
		return awsapi.Throttling(b.code)
	}
	return nil
}
