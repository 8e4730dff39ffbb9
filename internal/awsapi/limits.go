package awsapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Limits bound what one request may make the server read and build.
//
// The decoders count every value they build (a leaf once, a map or a list
// twice, as it costs more; for the Query protocol every parameter and every
// structure it opens) against MaxElements and refuse the request
// as soon as the count is passed, before the rest is built; nesting deeper
// than MaxDepth is refused the same way. A decoded request therefore costs
// at most its body buffers (MaxBodyBytes as sent, MaxDecompressedBytes
// inflated) plus the copies of its strings (at most the inflated size) plus
// about 100 bytes per element (an interface slot, a map entry or a boxed
// number): see docs/security.md for the bound and the test that measures it.
type Limits struct {
	MaxBodyBytes         int64 // body as sent (after the transfer, before gunzip)
	MaxDecompressedBytes int64 // body after gunzip
	MaxElements          int   // values in the decoded tree (Query: parameters); 0: DefaultLimits'
	MaxDepth             int   // nesting of maps and lists; 0: DefaultLimits'
}

// DefaultLimits follow CloudWatch: 1 MB per PutMetricData payload, with room
// for the protocols' own overhead; a gzip body may expand to 16 MiB. The
// largest legal PutMetricData (1,000 datums, each with 30 dimensions, or
// with 150 Values and 150 Counts) holds fewer than 400,000 elements.
var DefaultLimits = Limits{MaxBodyBytes: 1 << 20, MaxDecompressedBytes: 16 << 20, MaxElements: 500_000, MaxDepth: 32}

func (l Limits) elements() int {
	if l.MaxElements <= 0 {
		return DefaultLimits.MaxElements
	}
	return l.MaxElements
}

func (l Limits) depth() int {
	if l.MaxDepth <= 0 {
		return DefaultLimits.MaxDepth
	}
	return l.MaxDepth
}

// budget counts what a decoder builds.
type budget struct {
	left, maxDepth int
}

func newBudget(l Limits) *budget { return &budget{left: l.elements(), maxDepth: l.depth()} }

var (
	errTooManyElements = errors.New("too many elements")
	errTooDeep         = errors.New("nesting too deep")
)

// take accounts for one more value at depth.
func (b *budget) take(depth int) error {
	if depth > b.maxDepth {
		return errTooDeep
	}
	b.left--
	if b.left < 0 {
		return errTooManyElements
	}
	return nil
}

// decodeError turns a decoder's error into the answer the client gets.
func decodeError(err error, p Protocol, l Limits) *Error {
	if aerr, ok := errors.AsType[*Error](err); ok {
		return aerr
	}
	switch {
	case errors.Is(err, errTooManyElements):
		e := RequestTooLarge("The request has more than %d elements (values or parameters).", l.elements())
		e.Limit = "elements"
		return e
	case errors.Is(err, errTooDeep):
		e := MalformedRequest("The request nests deeper than %d levels.", l.depth())
		e.Limit = "depth"
		return e
	}
	if p == Query {
		return MalformedQueryString("%v", err)
	}
	return MalformedRequest("%v", err)
}

// maxEcho is how much of a bad value an error message repeats.
const maxEcho = 256

// Prefix is s as an error message may repeat it: at most 256 bytes, cut on
// a character boundary and followed by "..." when longer; invalid UTF-8 and
// control characters are shown as escapes, so the message itself is valid.
func Prefix(s string) string {
	cut := len(s) > maxEcho
	if cut {
		s = s[:maxEcho]
		for len(s) > 0 && !utf8.ValidString(s[len(s)-min(len(s), utf8.UTFMax):]) {
			s = s[:len(s)-1] // drop a character split by the cut
		}
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) {
		s = strings.Trim(fmt.Sprintf("%q", s), `"`)
	}
	if cut {
		s += "..."
	}
	return s
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// CheckName checks a name or value the API stores and lists back (a metric
// name, a dimension's name or value): valid UTF-8 without control characters,
// as CloudWatch requires. The exact AWS message is unverified.
func CheckName(s, param string) *Error {
	if !utf8.ValidString(s) {
		return InvalidParameterValue("The value %s for parameter %s is invalid: it is not valid UTF-8.", Prefix(s), param)
	}
	if strings.ContainsFunc(s, isControl) {
		return InvalidParameterValue("The value %s for parameter %s is invalid: it contains control characters.", Prefix(s), param)
	}
	return nil
}

// Throttling answers a request over a rate limit, as AWS's services do:
// code Throttling, 400, "Rate exceeded"; the SDKs retry it with backoff.
func Throttling(limit string) *Error {
	e := newError("Throttling", "com.amazon.coral.availability#ThrottlingException", http.StatusBadRequest, "Rate exceeded")
	e.Limit = limit
	return e
}

// MalformedQueryString answers a Query body or URL that does not parse
// (a bad escape). The code and 404 are AWS's common error for Query
// services; the message text is the project's own.
func MalformedQueryString(format string, args ...any) *Error {
	return newError("MalformedQueryString", cwShape+"MalformedQueryString", http.StatusNotFound, format, args...)
}

// InvalidQueryParameter answers Query parameters that parse but do not make
// one request: a parameter given twice, an index written 01 or 0, a name
// used both as a value and as a structure (AWS's common Query error; its
// exact use by CloudWatch is unverified).
func InvalidQueryParameter(format string, args ...any) *Error {
	return newError("InvalidQueryParameter", cwShape+"InvalidQueryParameter", http.StatusBadRequest, format, args...)
}

// RequestTimeout answers a request whose body did not arrive in time (the
// exact AWS answer for CloudWatch is unverified; S3 sends RequestTimeout).
func RequestTimeout(format string, args ...any) *Error {
	e := newError("RequestTimeout", cwShape+"RequestTimeoutException", http.StatusRequestTimeout, format, args...)
	e.Limit = "body_read_time"
	return e
}
