package ingest

import (
	"flag"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/sigv4"
)

// AuthConfig says who may call the API. With a credentials file every
// request must be signed (SigV4) by one of its keys, and acts for that key's
// account; without one, requests are anonymous (the default tenant), which
// the node allows only on loopback or with Anonymous set.
type AuthConfig struct {
	CredentialsFile string `yaml:"credentials_file"`
	Anonymous       bool   `yaml:"anonymous"`
}

// RegisterFlags binds the settings to -auth.* flags.
func (c *AuthConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.CredentialsFile, "auth.credentials", "", "file of the keys that may call the API, a line each: ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID; every request must then be SigV4-signed by one, and acts for its account")
	fs.BoolVar(&c.Anonymous, "auth.anonymous", false, "without -auth.credentials, take unsigned requests even when a listener is not on loopback")
}

// sigv4Auth authenticates requests by their SigV4 signature.
type sigv4Auth struct {
	v, logs  *sigv4.Verifier
	failures *prometheus.CounterVec
}

// NewSigV4Authenticator verifies signatures made with keys, for CloudWatch
// ("monitoring") or, on a Logs call, CloudWatch Logs ("logs"); a verified
// request acts for its key's account.
func NewSigV4Authenticator(keys map[string]sigv4.Credential, reg prometheus.Registerer) awsapi.Authenticator {
	return &sigv4Auth{
		v:    sigv4.NewVerifier(keys, "monitoring", nil),
		logs: sigv4.NewVerifier(keys, "logs", nil),
		failures: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_api_auth_failures_total",
			Help: "API requests refused by signature verification, by AWS error code.",
		}, []string{"code"}),
	}
}

func (a *sigv4Auth) Authenticate(r *http.Request, body []byte) (string, *awsapi.Error) {
	v := a.v
	if p, _, _ := awsapi.Identify(r); p == awsapi.Logs {
		v = a.logs
	}
	cred, err := v.Verify(r, body)
	if err != nil {
		a.failures.WithLabelValues(err.Code).Inc()
		return "", err
	}
	return cred.AccountID, nil
}
