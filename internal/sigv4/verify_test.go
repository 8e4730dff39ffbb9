package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	signedAt = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	keys     = map[string]Credential{"AKIDALPHA": {AccessKeyID: "AKIDALPHA", SecretAccessKey: "alpha-secret", AccountID: "111111111111"}}
)

// signed builds a JSON 1.0 request and signs it with the SDK's signer, as a
// client does, with secret and at t.
func signed(t testing.TB, key, secret string, at time.Time, body []byte, mutate func(*http.Request)) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", "http://127.0.0.1:4590/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.ListMetrics")
	r.Header.Set("User-Agent", "test") // not signed, as the SDKs do
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r,
		hex.EncodeToString(sum[:]), "monitoring", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func TestVerify(t *testing.T) {
	body := []byte(`{"Namespace":"A"}`)
	v := NewVerifier(keys, "monitoring", func() time.Time { return signedAt.Add(time.Minute) })
	for name, tc := range map[string]struct {
		r        *http.Request
		body     []byte
		wantCode string
	}{
		"right key":            {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, nil), body: body},
		"an unsigned header":   {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, func(r *http.Request) { r.Header.Set("X-Forwarded-For", "1.2.3.4") }), body: body},
		"wrong secret":         {r: signed(t, "AKIDALPHA", "not-it", signedAt, body, nil), body: body, wantCode: "SignatureDoesNotMatch"},
		"unknown key":          {r: signed(t, "AKIDNOBODY", "x", signedAt, body, nil), body: body, wantCode: "InvalidClientTokenId"},
		"body changed":         {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, nil), body: []byte(`{"Namespace":"B"}`), wantCode: "SignatureDoesNotMatch"},
		"signed header change": {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, func(r *http.Request) { r.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData") }), body: body, wantCode: "SignatureDoesNotMatch"},
		"20 minutes old":       {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt.Add(-19*time.Minute), body, nil), body: body, wantCode: "RequestExpired"},
		"20 minutes ahead":     {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt.Add(21*time.Minute), body, nil), body: body, wantCode: "RequestExpired"},
		"14 minutes old":       {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt.Add(-13*time.Minute), body, nil), body: body},
		"no signature":         {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, func(r *http.Request) { r.Header.Del("Authorization") }), body: body, wantCode: "MissingAuthenticationToken"},
		"another algorithm":    {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, func(r *http.Request) { r.Header.Set("Authorization", "AWS3 x") }), body: body, wantCode: "IncompleteSignature"},
		"no signed headers": {r: signed(t, "AKIDALPHA", "alpha-secret", signedAt, body, func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDALPHA/20261202/us-east-1/monitoring/aws4_request, Signature=00")
		}), body: body, wantCode: "IncompleteSignature"},
		"another service": {r: func() *http.Request {
			r, _ := http.NewRequest("POST", "http://127.0.0.1:4590/", bytes.NewReader(body))
			sum := sha256.Sum256(body)
			_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDALPHA", SecretAccessKey: "alpha-secret"}, r, hex.EncodeToString(sum[:]), "logs", "us-east-1", signedAt)
			return r
		}(), body: body, wantCode: "SignatureDoesNotMatch"},
	} {
		t.Run(name, func(t *testing.T) {
			cred, err := v.Verify(tc.r, tc.body)
			switch {
			case tc.wantCode == "" && err != nil:
				t.Fatalf("got %v; want it verified", err)
			case tc.wantCode == "" && cred.AccountID != "111111111111":
				t.Fatalf("got account %q; want the key's", cred.AccountID)
			case tc.wantCode != "" && (err == nil || err.Code != tc.wantCode):
				t.Fatalf("got %v; want %s", err, tc.wantCode)
			}
		})
	}
}

// TestVerifyPresigned: a query-string signature made by the SDK's
// presigner verifies until it expires.
func TestVerifyPresigned(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://127.0.0.1:4590/?Action=ListMetrics&Version=2010-08-01", nil)
	q := r.URL.Query()
	q.Set("X-Amz-Expires", "300")
	r.URL.RawQuery = q.Encode()
	sum := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDALPHA", SecretAccessKey: "alpha-secret"}, r,
		hex.EncodeToString(sum[:]), "monitoring", "us-east-1", signedAt)
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := http.NewRequest("GET", u, nil)
	for at, want := range map[time.Duration]string{time.Minute: "", 6 * time.Minute: "RequestExpired", 30 * time.Minute: "RequestExpired"} {
		v := NewVerifier(keys, "monitoring", func() time.Time { return signedAt.Add(at) })
		_, aerr := v.Verify(pr, nil)
		if (want == "" && aerr != nil) || (want != "" && (aerr == nil || aerr.Code != want)) {
			t.Errorf("%s after signing: got %v; want %q", at, aerr, want)
		}
	}
	tampered, _ := http.NewRequest("GET", strings.Replace(u, "ListMetrics", "DeleteAlarms", 1), nil)
	if _, aerr := NewVerifier(keys, "monitoring", func() time.Time { return signedAt }).Verify(tampered, nil); aerr == nil || aerr.Code != "SignatureDoesNotMatch" {
		t.Errorf("a changed action: got %v; want SignatureDoesNotMatch", aerr)
	}
}

func TestLoadCredentials(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"two keys":       {text: "# keys\nAKIDA secretA 111111111111\n\nAKIDB secretB 222222222222\n"},
		"short line":     {text: "AKIDA secretA\n", want: "got 2 fields"},
		"account":        {text: "AKIDA secretA 12345\n", want: "not 12 digits"},
		"key twice":      {text: "AKIDA s 111111111111\nAKIDA t 222222222222\n", want: "listed twice"},
		"no keys at all": {text: "# nobody\n", want: "no keys"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := LoadCredentials(path)
			if tc.want == "" {
				if err != nil || len(keys) != 2 || keys["AKIDB"].AccountID != "222222222222" {
					t.Fatalf("got %v, %v; want both keys", keys, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkVerify: one signed 20 KB request, verified.
func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 20<<10)
	r := signed(b, "AKIDALPHA", "alpha-secret", signedAt, body, nil)
	v := NewVerifier(keys, "monitoring", func() time.Time { return signedAt })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
