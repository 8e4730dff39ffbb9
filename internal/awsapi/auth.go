package awsapi

import "net/http"

// Authentication errors. The Query code is what the SDKs surface (they read
// it from x-amzn-query-error in query-compatible mode); the JSON and CBOR
// __type is the coral service exception AWS's JSON services send for the
// same failure. The shapes are unverified against CloudWatch itself.
var authShapes = map[string]string{
	"InvalidClientTokenId":       "com.amazon.coral.service#UnrecognizedClientException",
	"SignatureDoesNotMatch":      "com.amazon.coral.service#InvalidSignatureException",
	"RequestExpired":             "com.amazon.coral.service#InvalidSignatureException",
	"IncompleteSignature":        "com.amazon.coral.service#IncompleteSignatureException",
	"MissingAuthenticationToken": "com.amazon.coral.service#MissingAuthenticationTokenException",
}

// AuthError is an authentication failure with its Query code (one of
// authShapes' keys) and HTTP status.
func AuthError(code string, status int, format string, args ...any) *Error {
	shape, ok := authShapes[code]
	if !ok {
		shape = "com.amazon.coral.service#" + code
	}
	return newError(code, shape, status, format, args...)
}

// Authenticator tells who sent a request: given the request and its body as
// sent (still compressed), it returns the tenant the request acts for, or
// the AWS error to answer.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (tenant string, err *Error)
}
