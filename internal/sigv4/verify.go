package sigv4

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// MaxSkew is how far a request's signing time may be from the node's clock,
// as AWS allows.
const MaxSkew = 15 * time.Minute

const (
	algorithm  = "AWS4-HMAC-SHA256"
	timeFormat = "20060102T150405Z"
)

// Credential is one access key and the account (tenant) it acts for.
type Credential struct {
	AccessKeyID, SecretAccessKey, AccountID string
}

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// LoadCredentials reads a credentials file: one key a line, as
// "ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID" (12 digits); blank lines and
// lines starting with # are skipped.
func LoadCredentials(path string) (map[string]Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	defer f.Close()
	keys := map[string]Credential{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) != 3:
			return nil, fmt.Errorf("read credentials %s line %d: want ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID, got %d fields", path, n, len(fields))
		case !accountPattern.MatchString(fields[2]):
			return nil, fmt.Errorf("read credentials %s line %d: account ID %q is not 12 digits", path, n, fields[2])
		}
		if _, dup := keys[fields[0]]; dup {
			return nil, fmt.Errorf("read credentials %s line %d: access key %s is listed twice", path, n, fields[0])
		}
		keys[fields[0]] = Credential{AccessKeyID: fields[0], SecretAccessKey: fields[1], AccountID: fields[2]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read credentials %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("read credentials %s: no keys", path)
	}
	return keys, nil
}

// Verifier checks SigV4 signatures of requests for one service.
type Verifier struct {
	keys    map[string]Credential
	service string
	now     func() time.Time
	signer  *v4.Signer
}

// NewVerifier verifies signatures made with keys for service ("monitoring").
func NewVerifier(keys map[string]Credential, service string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: keys, service: service, now: now, signer: v4.NewSigner()}
}

// signature is what a request says about its own signature, from its
// Authorization header or its query string.
type signature struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
	signedAt                         time.Time
	presigned                        bool
	expires                          time.Duration
}

// Verify checks r's signature over body (the bytes as sent, compressed or
// not) and returns the key's credential. The errors are AWS's: no signature
// is MissingAuthenticationToken, a malformed one IncompleteSignature, an
// unknown key InvalidClientTokenId, a signing time off by more than MaxSkew
// RequestExpired, and a signature that does not match SignatureDoesNotMatch.
func (v *Verifier) Verify(r *http.Request, body []byte) (Credential, *awsapi.Error) {
	sig, aerr := parseSignature(r)
	if aerr != nil {
		return Credential{}, aerr
	}
	cred, ok := v.keys[sig.accessKey]
	if !ok {
		return Credential{}, awsapi.AuthError("InvalidClientTokenId", http.StatusForbidden, "The security token included in the request is invalid.")
	}
	if sig.service != v.service {
		return Credential{}, awsapi.AuthError("SignatureDoesNotMatch", http.StatusForbidden, "Credential should be scoped to correct service: '%s'.", v.service)
	}
	now := v.now()
	switch age := now.Sub(sig.signedAt); {
	case age < -MaxSkew || (!sig.presigned && age > MaxSkew):
		return Credential{}, awsapi.AuthError("RequestExpired", http.StatusBadRequest,
			"Request has expired: it was signed at %s and the server's time is %s; the two may differ by at most %s.", sig.signedAt.Format(timeFormat), now.UTC().Format(timeFormat), MaxSkew)
	case sig.presigned && age > sig.expires:
		return Credential{}, awsapi.AuthError("RequestExpired", http.StatusBadRequest,
			"Request has expired: the presigned URL was signed at %s for %s (X-Amz-Expires) and the server's time is %s.", sig.signedAt.Format(timeFormat), sig.expires, now.UTC().Format(timeFormat))
	}
	want, err := v.expected(r, body, sig, cred)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(sig.signature)) != 1 {
		return Credential{}, awsapi.AuthError("SignatureDoesNotMatch", http.StatusForbidden,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return cred, nil
}

// expected signs a copy of r, holding only the headers the client signed,
// with the key's secret, and returns the signature.
func (v *Verifier) expected(r *http.Request, body []byte, sig signature, cred Credential) (string, error) {
	u := *r.URL
	if sig.presigned {
		q := u.Query()
		q.Del("X-Amz-Signature")
		u.RawQuery = q.Encode()
	}
	clone, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("copy request: %w", err)
	}
	clone.Host = r.Host
	for _, h := range sig.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
		default:
			clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	ctx := context.Background()
	if sig.presigned {
		signed, _, err := v.signer.PresignHTTP(ctx, creds, clone, hash, sig.service, sig.region, sig.signedAt)
		if err != nil {
			return "", fmt.Errorf("presign: %w", err)
		}
		pu, err := url.Parse(signed)
		if err != nil {
			return "", fmt.Errorf("parse presigned url: %w", err)
		}
		return pu.Query().Get("X-Amz-Signature"), nil
	}
	if err := v.signer.SignHTTP(ctx, creds, clone, hash, sig.service, sig.region, sig.signedAt); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	_, theirs, _ := strings.Cut(clone.Header.Get("Authorization"), "Signature=")
	return theirs, nil
}

// parseSignature reads the Authorization header, or the X-Amz-* query
// parameters of a presigned request.
func parseSignature(r *http.Request) (signature, *awsapi.Error) {
	var sig signature
	var credential, signedHeaders, date string
	if auth := r.Header.Get("Authorization"); auth != "" {
		alg, rest, _ := strings.Cut(auth, " ")
		if alg != algorithm {
			return sig, incomplete("Authorization header requires the %s algorithm.", algorithm)
		}
		for part := range strings.SplitSeq(rest, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				credential = val
			case "SignedHeaders":
				signedHeaders = val
			case "Signature":
				sig.signature = val
			}
		}
		date = r.Header.Get("X-Amz-Date")
	} else if q := r.URL.Query(); q.Has("X-Amz-Signature") {
		if q.Get("X-Amz-Algorithm") != algorithm {
			return sig, incomplete("X-Amz-Algorithm must be %s.", algorithm)
		}
		credential, signedHeaders, sig.signature, date = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 1 || secs > 604800 {
			return sig, incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800.")
		}
		sig.presigned, sig.expires = true, time.Duration(secs)*time.Second
	} else {
		return sig, awsapi.AuthError("MissingAuthenticationToken", http.StatusForbidden, "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || signedHeaders == "" || sig.signature == "" {
		return sig, incomplete("The signature must name Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders and Signature.")
	}
	sig.accessKey, sig.date, sig.region, sig.service = scope[0], scope[1], scope[2], scope[3]
	sig.signedHeaders = strings.Split(signedHeaders, ";")
	if !slices.Contains(sig.signedHeaders, "host") {
		return sig, incomplete("The signed headers must include host.")
	}
	t, err := time.Parse(timeFormat, date)
	if err != nil || t.Format("20060102") != sig.date {
		return sig, incomplete("X-Amz-Date must be the signing time (yyyyMMddTHHmmssZ) of the credential scope's day.")
	}
	sig.signedAt = t
	return sig, nil
}

func incomplete(format string, args ...any) *awsapi.Error {
	return awsapi.AuthError("IncompleteSignature", http.StatusForbidden, format, args...)
}

// AccessKeyOf is the access key a request claims, unverified: the
// Credential of a SigV4 Authorization header or presigned URL, or the user
// of HTTP basic auth; "" when it claims none. For routing only: Verify
// decides whether the claim holds.
func AccessKeyOf(r *http.Request) string {
	credential := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, algorithm+" ") {
		for part := range strings.SplitSeq(strings.TrimPrefix(auth, algorithm+" "), ",") {
			if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "Credential" {
				credential = v
			}
		}
	} else if user, _, ok := r.BasicAuth(); ok {
		return user
	} else {
		credential = r.URL.Query().Get("X-Amz-Credential")
	}
	key, _, _ := strings.Cut(credential, "/")
	return key
}
