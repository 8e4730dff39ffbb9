// Package awsapi is the wire layer shared by every CloudWatch operation that
// cellwatch serves: it tells the three protocols the SDKs send apart (Smithy
// RPC v2 CBOR, AWS JSON 1.0, AWS Query), decodes a request body of any of them
// into one generic tree, encodes one ordered output tree back in the caller's
// protocol (CBOR, JSON or Query XML), and shapes errors the way the SDKs parse
// them (__type, message, x-amzn-query-error, query-mode status codes).
//
// Decoding is bounded and strict ([Limits]): every value built is counted as
// it is built, nesting is bounded, a key or parameter given twice, bytes
// after a JSON document and a non-canonical Query index are refused, and
// error messages repeat at most a short [Prefix] of a bad value. See
// docs/security.md, "What one request may cost" and "Strict decoding".
//
// Operations are written once against [Input] and [Object] and so answer in
// all three protocols alike. See docs/cloudwatch-api.md §1.
package awsapi
