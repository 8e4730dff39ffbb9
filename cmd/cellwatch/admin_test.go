package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestAdminAPIGuards: the admin API refuses a browser's cross-site request
// and form-type bodies, and with -admin.token anyone without the token;
// /metrics and /-/ready stay open to scrapers.
func TestAdminAPIGuards(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir(), "-admin.token", "s3cret"))
	send := func(method, path string, headers map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, tn.adminURL()+path, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	bearer := map[string]string{"Authorization": "Bearer s3cret"}
	for name, tc := range map[string]struct {
		method, path string
		headers      map[string]string
		want         int
	}{
		"no token":              {"POST", "/admin/stream/fault?mode=down", nil, 401},
		"wrong token":           {"GET", "/admin/status", map[string]string{"Authorization": "Bearer nope"}, 401},
		"token":                 {"GET", "/admin/status", bearer, 200},
		"cross-site with token": {"POST", "/admin/stream/fault?mode=down", map[string]string{"Authorization": "Bearer s3cret", "Origin": "http://evil.example"}, 403},
		"a form body":           {"POST", "/admin/stream/fault?mode=down", map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/x-www-form-urlencoded"}, 403},
		"inject with the token": {"POST", "/admin/stream/fault?mode=down", bearer, 200},
		"clear with the token":  {"DELETE", "/admin/stream/fault", bearer, 200},
		"metrics stay open":     {"GET", "/metrics", nil, 200},
		"readiness stays open":  {"GET", "/-/ready", nil, 200},
	} {
		if got := send(tc.method, tc.path, tc.headers); got != tc.want {
			t.Errorf("%s: %s %s got %d; want %d", name, tc.method, tc.path, got, tc.want)
		}
	}
	// Without a token, the cross-site rule still holds and curl still works.
	open := startNode(t, testConfig(t, t.TempDir()))
	code, body := open.admin(t, "POST", "/admin/stream/fault?mode=down", nil)
	if code != 200 || !strings.Contains(body, "down") {
		t.Errorf("curl-like request without a token: got %d %s; want 200", code, body)
	}
	req, _ := http.NewRequest("DELETE", open.adminURL()+"/admin/stream/fault", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-site request without a token: got %d; want 403", resp.StatusCode)
	}
}
