package query

import (
	"fmt"
	"testing"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func result(id string, n int) dataResult {
	r := dataResult{id: id}
	for i := range n {
		r.times = append(r.times, int64(i))
		r.values = append(r.values, float64(i))
	}
	return r
}

// summary renders a page as "id:count:status" items.
func summary(page awsapi.List) string {
	s := ""
	for _, e := range page {
		o := e.(awsapi.Object)
		s += fmt.Sprintf("%s:%d:%s ", o[0].Value, len(o[3].Value.(awsapi.List)), o[4].Value)
	}
	return s
}

func TestPaginate(t *testing.T) {
	results := []dataResult{result("a", 5), result("empty", 0), result("b", 3)}
	for name, tc := range map[string]struct {
		offset, limit int
		want          string
		next          int
	}{
		"everything fits":         {0, 100, "a:5:Complete empty:0:Complete b:3:Complete ", 0},
		"cut inside the first":    {0, 3, "a:3:PartialData ", 3},
		"rest of the first":       {3, 3, "a:2:Complete empty:0:Complete b:1:PartialData ", 6},
		"last page":               {6, 3, "b:2:Complete ", 0},
		"page ends at a boundary": {0, 5, "a:5:Complete ", 5},
		"empty result after it":   {5, 5, "empty:0:Complete b:3:Complete ", 0},
		"offset past the end":     {8, 5, "", 0},
	} {
		t.Run(name, func(t *testing.T) {
			page, next := paginate(results, tc.offset, tc.limit)
			if got := summary(page); got != tc.want || next != tc.next {
				t.Errorf("got %q next %d; want %q next %d", got, next, tc.want, tc.next)
			}
		})
	}
}

func TestTokenIsBoundToItsRequest(t *testing.T) {
	fp := requestFingerprint(awsapi.Input{"StartTime": 1.0})
	tok := encodeToken(42, fp)
	if n, err := decodeToken(tok, fp); err != nil || n != 42 {
		t.Fatalf("got %d, %v; want 42", n, err)
	}
	if _, err := decodeToken(tok, requestFingerprint(awsapi.Input{"StartTime": 2.0})); err == nil {
		t.Error("a token was accepted for another request")
	}
	if fp != requestFingerprint(awsapi.Input{"StartTime": 1.0, "NextToken": "x", "MaxDatapoints": 5.0}) {
		t.Error("NextToken and MaxDatapoints must not change the fingerprint")
	}
}
