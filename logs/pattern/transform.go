package pattern

import "strings"

// Transformation is one member of PutMetricFilter's metricTransformations:
// which metric a matching event publishes to and with what value.
type Transformation struct {
	MetricName      string
	MetricNamespace string
	// MetricValue is a number ("1") or a selector the pattern defines
	// ("$bytes", "$.latency").
	MetricValue string
	// DefaultValue, when set, is published for events that do not match.
	DefaultValue *float64
	// Dimensions maps a dimension name to a selector the pattern defines.
	Dimensions map[string]string
	// Unit is a CloudWatch standard unit; empty means None.
	Unit string
}

// Limits AWS documents for MetricTransformation and its members.
const (
	maxNameLen     = 255 // metricName, metricNamespace, dimension names and values
	maxValueLen    = 100 // metricValue
	maxDimensions  = 3
	forbiddenChars = ":*$" // metricName and metricNamespace pattern [^:*$]*
)

// units are the StandardUnit values a transformation may carry.
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true,
	"Bytes": true, "Kilobytes": true, "Megabytes": true, "Gigabytes": true, "Terabytes": true,
	"Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true, "Terabits": true,
	"Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true,
	"Gigabytes/Second": true, "Terabytes/Second": true,
	"Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true,
	"Count/Second": true, "None": true,
}

// constraint is the service's wording for a member that breaks a model
// constraint.
func constraint(value, member, rule string) error {
	return errorf("1 validation error detected: Value '%s' at 'metricTransformations.1.member.%s' failed to satisfy constraint: %s",
		quote(value), member, rule)
}

// Validate checks t against the service's rules and against p: a selector
// used as the value or a dimension must be one the pattern defines.
func (t *Transformation) Validate(p *Pattern) error {
	if err := checkName(t.MetricName, "metricName"); err != nil {
		return err
	}
	if err := checkName(t.MetricNamespace, "metricNamespace"); err != nil {
		return err
	}
	if t.MetricValue == "" || len(t.MetricValue) > maxValueLen {
		return constraint(t.MetricValue, "metricValue", "Member must have length less than or equal to 100 and greater than or equal to 1")
	}
	if strings.HasPrefix(t.MetricValue, "$") {
		if p == nil || !p.defines(t.MetricValue) {
			return errorf("Invalid metric value: %s is not a field the filter pattern defines", quote(t.MetricValue))
		}
	} else if _, ok := number(t.MetricValue); !ok {
		return errorf("Invalid metric value: %s must be a number or a field the filter pattern defines", quote(t.MetricValue))
	}
	if t.Unit != "" && !units[t.Unit] {
		return constraint(t.Unit, "unit", "Member must satisfy enum value set: [Seconds, Microseconds, Milliseconds, Bytes, Kilobytes, Megabytes, Gigabytes, Terabytes, Bits, Kilobits, Megabits, Gigabits, Terabits, Percent, Count, Bytes/Second, Kilobytes/Second, Megabytes/Second, Gigabytes/Second, Terabytes/Second, Bits/Second, Kilobits/Second, Megabits/Second, Gigabits/Second, Terabits/Second, Count/Second, None]")
	}
	if len(t.Dimensions) == 0 {
		return nil
	}
	if t.DefaultValue != nil {
		return errorf("Invalid metric transformation: dimensions and defaultValue cannot both be specified")
	}
	if len(t.Dimensions) > maxDimensions {
		return errorf("Invalid metric transformation: at most %d dimensions are allowed, got %d", maxDimensions, len(t.Dimensions))
	}
	for k, v := range t.Dimensions {
		if k == "" || len(k) > maxNameLen {
			return errorf("Invalid dimension name: %s must be 1 to %d characters", quote(k), maxNameLen)
		}
		if !strings.HasPrefix(v, "$") || len(v) > maxNameLen || p == nil || !p.defines(v) {
			return errorf("Invalid dimension value for %s: %s is not a field the filter pattern defines", quote(k), quote(v))
		}
	}
	return nil
}

func checkName(v, member string) error {
	if v == "" || len(v) > maxNameLen {
		return constraint(v, member, "Member must have length less than or equal to 255 and greater than or equal to 1")
	}
	if strings.ContainsAny(v, forbiddenChars) {
		return constraint(v, member, "Member must satisfy regular expression pattern: [^:*$]*")
	}
	return nil
}

// Apply returns the datum one event publishes. A matching event publishes
// the metric value (the number, or the selector's value read as a number)
// with the dimensions' selector values; it publishes nothing when the
// selected value is missing or not a number, or a dimension's selector
// found no value. A non-matching event publishes DefaultValue, without
// dimensions, when it is set, and nothing otherwise.
func (t *Transformation) Apply(f Fields, matched bool) (value float64, dims map[string]string, ok bool) {
	if !matched {
		if t.DefaultValue == nil {
			return 0, nil, false
		}
		return *t.DefaultValue, nil, true
	}
	raw := t.MetricValue
	if strings.HasPrefix(raw, "$") {
		v, found := f.Get(raw)
		if !found {
			return 0, nil, false
		}
		raw = v
	}
	value, ok = number(raw)
	if !ok {
		return 0, nil, false
	}
	if len(t.Dimensions) > 0 {
		dims = make(map[string]string, len(t.Dimensions))
		for k, sel := range t.Dimensions {
			v, found := f.Get(sel)
			if !found || v == "" {
				return 0, nil, false
			}
			dims[k] = v
		}
	}
	return value, dims, true
}
