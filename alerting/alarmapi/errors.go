package alarmapi

import (
	"errors"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

var typeWord = map[string]string{alerting.TypeMetric: "metric", alerting.TypeComposite: "composite"}

// apiError answers the store's errors with AWS's codes and messages; other
// errors pass unchanged.
func apiError(err error) error {
	var exists *alerting.ExistsError
	var limit *alerting.LimitError
	var ref *alerting.ReferenceError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, alerting.ErrNotFound):
		return awsapi.ResourceNotFound("")
	case errors.As(err, &exists):
		return awsapi.InvalidParameterValue("An alarm named %s already exists and is a %s alarm.", exists.Name, typeWord[exists.Type])
	case errors.As(err, &limit):
		return awsapi.LimitExceeded("The maximum number of alarms (%d) has been reached.", limit.Max)
	case errors.As(err, &ref):
		return referenceError(ref)
	}
	return err
}

func referenceError(e *alerting.ReferenceError) error {
	switch e.Kind {
	case alerting.SelfReference:
		return awsapi.ValidationError("Error in alarm rule: the composite alarm %s cannot reference itself.", e.Alarm)
	case alerting.MissingChildren:
		return awsapi.ValidationError("Could not save the composite alarm as alarms [%s] in the alarm rule do not exist", strings.Join(e.Alarms, ", "))
	case alerting.Cycle:
		return awsapi.ValidationError("Error in alarm rule: the composite alarm %s would depend on itself through %s (a cycle).", e.Alarm, e.Through)
	case alerting.TooManyComposites:
		return awsapi.ValidationError("Only one composite alarm can be deleted per call; %d were specified.", e.N)
	}
	return awsapi.ValidationError("Could not delete alarm(s) [%s] as they are referenced in the alarm rule of composite alarm(s) [%s].",
		strings.Join(e.Alarms, ", "), strings.Join(e.Parents, ", "))
}
