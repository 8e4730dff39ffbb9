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
}

// RegisterFlags binds the settings to -limits.* flags.
func (c *LimitsConfig) RegisterFlags(fs *flag.FlagSet) {
	d := awsapi.DefaultLimits
	fs.Int64Var(&c.MaxBodyBytes, "limits.max-body-bytes", d.MaxBodyBytes, "largest request body as sent (413 RequestEntityTooLarge above)")
	fs.Int64Var(&c.MaxDecompressedBytes, "limits.max-decompressed-bytes", d.MaxDecompressedBytes, "largest request body after gunzip (413 RequestEntityTooLarge above)")
	fs.IntVar(&c.MaxElements, "limits.max-elements", d.MaxElements, "most values (maps, lists, leaves; Query: parameters) one request may decode to; counted while decoding")
	fs.IntVar(&c.MaxDepth, "limits.max-depth", d.MaxDepth, "deepest nesting of maps and lists in a request")
	fs.DurationVar(&c.ReadHeaderTimeout, "limits.read-header-timeout", 10*time.Second, "time a connection has to send a request's headers")
	fs.DurationVar(&c.ReadTimeout, "limits.read-timeout", 30*time.Second, "time a connection has to send a whole request, headers and body (a slower body is cut with RequestTimeout)")
	fs.IntVar(&c.MaxInflightRequests, "limits.max-inflight-requests", 256, "API requests the node serves at once; more are answered 503 ServiceUnavailable at once")
	fs.Int64Var(&c.MaxInflightBytes, "limits.max-inflight-bytes", 128<<20, "request body bytes (as declared, or -limits.max-body-bytes when not) the node holds at once; more are answered 503 ServiceUnavailable")
	fs.Float64Var(&c.TenantRequestRate, "limits.tenant-request-rate", 2000, "API requests per second per tenant (0: unlimited); over it: Throttling, 400, Rate exceeded")
	fs.IntVar(&c.TenantRequestBurst, "limits.tenant-request-burst", 4000, "requests a tenant may send at once above -limits.tenant-request-rate")
	fs.Float64Var(&c.TenantDatumRate, "limits.tenant-datum-rate", 500_000, "PutMetricData datums per second per tenant (0: unlimited); over it: Throttling")
	fs.IntVar(&c.TenantDatumBurst, "limits.tenant-datum-burst", 1_000_000, "datums a tenant may send at once above -limits.tenant-datum-rate (at least 1000, one full PutMetricData)")
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
	if c.TenantRequestRate < 0 || c.TenantDatumRate < 0 {
		errs = append(errs, errors.New("-limits.tenant-request-rate and -limits.tenant-datum-rate must not be negative"))
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

// TenantLimits are per-tenant token buckets for requests and datums.
type TenantLimits struct {
	requestRate, datumRate   rate.Limit
	requestBurst, datumBurst int

	mu       sync.Mutex
	requests map[string]*rate.Limiter
	datums   map[string]*rate.Limiter
}

// NewTenantLimits returns the buckets c configures (a zero rate: none).
func NewTenantLimits(c LimitsConfig) *TenantLimits {
	return &TenantLimits{
		requestRate: rate.Limit(c.TenantRequestRate), requestBurst: c.TenantRequestBurst,
		datumRate: rate.Limit(c.TenantDatumRate), datumBurst: c.TenantDatumBurst,
		requests: map[string]*rate.Limiter{}, datums: map[string]*rate.Limiter{},
	}
}

// AllowRequest takes one request from tenant's bucket.
func (t *TenantLimits) AllowRequest(tenant string) *awsapi.Error {
	if t == nil || t.requestRate == 0 {
		return nil
	}
	if !t.bucket(t.requests, tenant, t.requestRate, t.requestBurst).Allow() {
		return awsapi.Throttling("tenant_requests")
	}
	return nil
}

// AllowDatums takes n datums from tenant's bucket, all or none.
func (t *TenantLimits) AllowDatums(tenant string, n int) *awsapi.Error {
	if t == nil || t.datumRate == 0 {
		return nil
	}
	if !t.bucket(t.datums, tenant, t.datumRate, t.datumBurst).AllowN(time.Now(), n) {
		return awsapi.Throttling("tenant_datums")
	}
	return nil
}

func (t *TenantLimits) bucket(m map[string]*rate.Limiter, tenant string, r rate.Limit, burst int) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := m[tenant]
	if !ok {
		l = rate.NewLimiter(r, burst)
		m[tenant] = l
	}
	return l
}
