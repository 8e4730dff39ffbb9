// Package sigv4 verifies AWS Signature Version 4 on incoming requests: the
// Authorization header and presigned query strings, for one service
// ("monitoring" for CloudWatch). It does not canonicalise requests itself:
// it re-signs a copy of the request, holding exactly the headers the client
// says it signed, with the AWS SDK for Go v2's signer and the key's secret,
// and compares the signatures in constant time. The body is hashed as sent
// (a gzipped body is signed compressed). Keys come from a credentials file
// (LoadCredentials); each maps to an account ID, the tenant its requests
// act for. Errors are AWS's (awsapi.AuthError); see docs/security.md.
package sigv4
