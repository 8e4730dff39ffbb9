package awsapi

import (
	"fmt"
	"net/http"
)

// Error is an AWS API error as an SDK user sees it.
type Error struct {
	Code     string // query error code, e.g. InvalidParameterValue (what the SDKs surface)
	Shape    string // __type of JSON/CBOR bodies, e.g. com.amazonaws.cloudwatch#InvalidParameterValueException
	Status   int    // HTTP status in Query and query-compatible mode
	Message  string
	Receiver bool // server fault
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

const cwShape = "com.amazonaws.cloudwatch#"

func newError(code, shape string, status int, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Shape: shape, Status: status, Message: msg, Receiver: status >= 500}
}

// InvalidParameterValue is CloudWatch's InvalidParameterValueException.
func InvalidParameterValue(format string, args ...any) *Error {
	return newError("InvalidParameterValue", cwShape+"InvalidParameterValueException", http.StatusBadRequest, format, args...)
}

// InvalidParameterCombination is CloudWatch's InvalidParameterCombinationException.
func InvalidParameterCombination(format string, args ...any) *Error {
	return newError("InvalidParameterCombination", cwShape+"InvalidParameterCombinationException", http.StatusBadRequest, format, args...)
}

// MissingParameter is CloudWatch's MissingRequiredParameterException.
func MissingParameter(format string, args ...any) *Error {
	return newError("MissingParameter", cwShape+"MissingRequiredParameterException", http.StatusBadRequest, format, args...)
}

// InvalidNextToken is CloudWatch's InvalidNextToken.
func InvalidNextToken(format string, args ...any) *Error {
	return newError("InvalidNextToken", cwShape+"InvalidNextToken", http.StatusBadRequest, format, args...)
}

// ValidationError is the model-level constraint error (coral ValidationException).
func ValidationError(format string, args ...any) *Error {
	return newError("ValidationError", "com.amazon.coral.validate#ValidationException", http.StatusBadRequest, format, args...)
}

// ConstraintError formats the coral message for one failed model constraint:
// "1 validation error detected: Value 'v' at 'member' failed to satisfy constraint: Member must ...".
func ConstraintError(value any, member, constraint string) *Error {
	return ValidationError("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: Member must %s", value, member, constraint)
}

// InternalFailure is CloudWatch's InternalServiceFault.
func InternalFailure(format string, args ...any) *Error {
	return newError("InternalServiceError", cwShape+"InternalServiceFault", http.StatusInternalServerError, format, args...)
}

// ServiceUnavailable answers a request the node cannot take now (disk or
// memory full); the SDKs retry it.
func ServiceUnavailable(format string, args ...any) *Error {
	return newError("ServiceUnavailable", cwShape+"ServiceUnavailableException", http.StatusServiceUnavailable, format, args...)
}

// UnknownOperation answers an operation cellwatch does not serve.
func UnknownOperation(op string) *Error {
	return newError("InvalidAction", cwShape+"UnknownOperationException", http.StatusBadRequest,
		"The action %s is not valid for this web service.", op)
}

// MalformedRequest answers a body that cannot be decoded.
func MalformedRequest(format string, args ...any) *Error {
	return newError("SerializationException", cwShape+"SerializationException", http.StatusBadRequest, format, args...)
}

// RequestTooLarge answers a body over the request size bound.
func RequestTooLarge(format string, args ...any) *Error {
	return newError("RequestEntityTooLarge", cwShape+"RequestEntityTooLargeException", http.StatusRequestEntityTooLarge, format, args...)
}

// ResourceNotFound is CloudWatch's ResourceNotFound (alarms): 404 in Query
// and query-compatible mode. AWS sends it without a message for an unknown
// alarm; pass "" to do the same.
func ResourceNotFound(format string, args ...any) *Error {
	return newError("ResourceNotFound", cwShape+"ResourceNotFound", http.StatusNotFound, format, args...)
}

// InvalidFormat is CloudWatch's InvalidFormatFault (SetAlarmState with a
// StateReasonData that is not JSON).
func InvalidFormat(format string, args ...any) *Error {
	return newError("InvalidFormat", cwShape+"InvalidFormatFault", http.StatusBadRequest, format, args...)
}

// LimitExceeded is CloudWatch's LimitExceededFault (PutMetricAlarm over the
// alarm quota).
func LimitExceeded(format string, args ...any) *Error {
	return newError("LimitExceeded", cwShape+"LimitExceededFault", http.StatusBadRequest, format, args...)
}
