package sigv4

import (
	"net/http"
	"testing"
)

func TestAccessKeyOf(t *testing.T) {
	for name, tc := range map[string]struct {
		url, auth string
		basic     [2]string
		want      string
	}{
		"header":     {"/", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=abc", [2]string{}, "AKIDEXAMPLE"},
		"presigned":  {"/?X-Amz-Credential=AKID2%2F20261202%2Fus-east-1%2Fmonitoring%2Faws4_request", "", [2]string{}, "AKID2"},
		"basic auth": {"/", "", [2]string{"AKID3", "secret"}, "AKID3"},
		"bearer":     {"/", "Bearer token", [2]string{}, ""},
		"none":       {"/", "", [2]string{}, ""},
	} {
		r, _ := http.NewRequest("POST", "http://x"+tc.url, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if tc.basic[0] != "" {
			r.SetBasicAuth(tc.basic[0], tc.basic[1])
		}
		if got := AccessKeyOf(r); got != tc.want {
			t.Errorf("%s: AccessKeyOf = %q; want %q", name, got, tc.want)
		}
	}
}
