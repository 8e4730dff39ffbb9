package awsapi

import (
	"net/http"
	"strings"
)

// CloudWatch Logs' errors (AWS JSON 1.1). Logs has no query compatibility:
// an SDK takes the code from the body's __type, which names the shape
// without a namespace; every client error is a 400.

func logsError(shape string, status int, format string, args ...any) *Error {
	return newError(shape, shape, status, format, args...)
}

// LogsInvalidParameter is Logs' InvalidParameterException.
func LogsInvalidParameter(format string, args ...any) *Error {
	return logsError("InvalidParameterException", http.StatusBadRequest, format, args...)
}

// LogsResourceNotFound is Logs' ResourceNotFoundException.
func LogsResourceNotFound(format string, args ...any) *Error {
	return logsError("ResourceNotFoundException", http.StatusBadRequest, format, args...)
}

// LogsResourceAlreadyExists is Logs' ResourceAlreadyExistsException.
func LogsResourceAlreadyExists(format string, args ...any) *Error {
	return logsError("ResourceAlreadyExistsException", http.StatusBadRequest, format, args...)
}

// LogsLimitExceeded is Logs' LimitExceededException.
func LogsLimitExceeded(format string, args ...any) *Error {
	return logsError("LimitExceededException", http.StatusBadRequest, format, args...)
}

// LogsMalformedQuery is Logs' MalformedQueryException (Logs Insights).
func LogsMalformedQuery(format string, args ...any) *Error {
	return logsError("MalformedQueryException", http.StatusBadRequest, format, args...)
}

// LogsServiceUnavailable is Logs' ServiceUnavailableException: the SDKs
// retry it.
func LogsServiceUnavailable(format string, args ...any) *Error {
	return logsError("ServiceUnavailableException", http.StatusServiceUnavailable, format, args...)
}

// LogsErrorType is the __type a Logs answer carries for e. Errors shaped
// for CloudWatch by the shared layers (decoding, limits, validation helpers)
// are named by their Logs counterpart: Logs has one InvalidParameterException
// where CloudWatch has three, and ServiceUnavailableException for a server
// fault.
func LogsErrorType(e *Error) string {
	shape := e.Shape
	if i := strings.LastIndexByte(shape, '#'); i >= 0 {
		shape = shape[i+1:]
	}
	switch shape {
	case "InvalidParameterValueException", "InvalidParameterCombinationException",
		"MissingRequiredParameterException", "InvalidNextToken", "ValidationException":
		return "InvalidParameterException"
	case "InternalServiceFault", "ServiceUnavailable":
		return "ServiceUnavailableException"
	case "":
		return e.Code
	}
	return shape
}
