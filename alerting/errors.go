package alerting

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the store's operations that depend on the stored alarms;
// package alarmapi answers them with AWS's error codes and messages.

// ErrNotFound is an operation on an alarm that does not exist.
var ErrNotFound = errors.New("alarm not found")

// ExistsError is a put of an alarm whose name another type's alarm has.
type ExistsError struct {
	Name string
	Type string // the existing alarm's, TypeMetric or TypeComposite
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("alarm %s exists as a %s", e.Name, e.Type)
}

// LimitError is a put past the tenant's maximum number of alarms.
type LimitError struct{ Max int }

func (e *LimitError) Error() string {
	return fmt.Sprintf("the tenant has the maximum of %d alarms", e.Max)
}

// ReferenceKind says what a ReferenceError refuses.
type ReferenceKind int

// The composite alarm references the store refuses.
const (
	SelfReference     ReferenceKind = iota // a rule names its own alarm
	MissingChildren                        // a rule names alarms that do not exist
	Cycle                                  // a rule would make the alarm depend on itself
	TooManyComposites                      // a delete names more than one composite alarm
	Referenced                             // a delete names alarms other composites' rules name
)

// ReferenceError is a composite alarm rule, or a delete, that the
// references between the stored alarms refuse.
type ReferenceError struct {
	Kind    ReferenceKind
	Alarm   string   // the composite alarm (SelfReference, Cycle)
	Through string   // Cycle: the child it depends on itself through
	Alarms  []string // MissingChildren: the missing alarms; Referenced: the referenced ones
	Parents []string // Referenced: the composite alarms naming them
	N       int      // TooManyComposites: how many
}

func (e *ReferenceError) Error() string {
	switch e.Kind {
	case SelfReference:
		return "composite alarm " + e.Alarm + " references itself"
	case MissingChildren:
		return "alarms [" + strings.Join(e.Alarms, ", ") + "] of the rule do not exist"
	case Cycle:
		return "composite alarm " + e.Alarm + " would depend on itself through " + e.Through
	case TooManyComposites:
		return fmt.Sprintf("%d composite alarms in one delete", e.N)
	}
	return "alarms [" + strings.Join(e.Alarms, ", ") + "] are referenced by composite alarms [" + strings.Join(e.Parents, ", ") + "]"
}
