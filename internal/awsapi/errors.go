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
	// Unmodeled marks an error of AWS's service framework rather than one
	// CloudWatch's model declares (an unknown operation): JSON and CBOR
	// answers carry only its __type, with no X-Amzn-Query-Error, so the
	// SDKs surface the shape name; Query answers carry Code and Message.
	Unmodeled bool
	// Members are the error shape's modeled members beside the message
	// (ResourceNotFoundException's ResourceType and ResourceId), written in
	// JSON and CBOR bodies; Query errors carry only Code and Message.
	Members Object
	// Limit names the bound that refused the request ("elements",
	// "body_size", "tenant_requests", ...), counted on /metrics; "" for
	// every other error.
	Limit string
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
	return ValidationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must %s", Prefix(fmt.Sprint(value)), member, constraint)
}

// NullError is the coral error for a required member left out.
func NullError(member string) *Error {
	return ValidationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
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

// UnknownOperation answers an operation cellwatch does not serve, as AWS's
// framework answers an operation the service does not have: a 400 in every
// protocol; JSON and CBOR say only
// {"__type":"com.amazon.coral.service#UnknownOperationException"} (what
// botocore and the Go SDK show as UnknownOperationException), Query says
// InvalidAction with "Could not find operation <op> for version
// 2010-08-01". The exact Query message is AWS's for its other Query
// services (STS, IAM); for CloudWatch it is unverified.
func UnknownOperation(op string) *Error {
	e := newError("InvalidAction", "com.amazon.coral.service#UnknownOperationException", http.StatusBadRequest,
		"Could not find operation %s for version 2010-08-01", op)
	e.Unmodeled = true
	return e
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

// ResourceNotFoundException is CloudWatch's ResourceNotFoundException, the
// tagging operations' unknown resource: 404 in Query and query-compatible
// mode, with the members ResourceType and ResourceId (and Message, the
// shape's own spelling of the message).
func ResourceNotFoundException(resourceType, id, format string, args ...any) *Error {
	e := newError("ResourceNotFoundException", cwShape+"ResourceNotFoundException", http.StatusNotFound, format, args...)
	e.Members = Obj("ResourceType", resourceType, "ResourceId", id, "Message", e.Message)
	return e
}

// DashboardNotFound is CloudWatch's DashboardNotFoundError (GetDashboard,
// DeleteDashboards): code ResourceNotFound, 404 in Query and
// query-compatible mode.
func DashboardNotFound(format string, args ...any) *Error {
	return newError("ResourceNotFound", cwShape+"DashboardNotFoundError", http.StatusNotFound, format, args...)
}

// DashboardInvalidInput is CloudWatch's DashboardInvalidInputError
// (PutDashboard): code InvalidParameterInput, 400, with the validation
// messages as its member dashboardValidationMessages.
func DashboardInvalidInput(messages List, format string, args ...any) *Error {
	e := newError("InvalidParameterInput", cwShape+"DashboardInvalidInputError", http.StatusBadRequest, format, args...)
	if messages != nil {
		e.Members = Obj("dashboardValidationMessages", messages)
	}
	return e
}
