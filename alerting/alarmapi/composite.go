package alarmapi

import (
	"context"
	"net/http"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// maxRuleLen is AlarmRule's length limit.
const maxRuleLen = 10240

// PutCompositeAlarm creates a composite alarm or overwrites one's
// configuration; the rule is evaluated at once, on create as on update.
func (s *API) PutCompositeAlarm(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	c, err := parseComposite(req.Input)
	if err != nil {
		return nil, err
	}
	return s.put(req, c)
}

// parseComposite reads and validates a PutCompositeAlarm request.
func parseComposite(in awsapi.Input) (*alerting.CompositeAlarm, error) {
	c := &alerting.CompositeAlarm{}
	if err := parseBase(in, &c.Base); err != nil { // put.go
		return nil, err
	}
	if !in.Has("AlarmRule") {
		return nil, nullError("alarmRule")
	}
	c.Rule = in.String("AlarmRule")
	if len(c.Rule) < 1 || len(c.Rule) > maxRuleLen {
		return nil, awsapi.ConstraintError(c.Rule, "alarmRule", "have length between 1 and 10240")
	}
	if err := c.ParseRule(); err != nil {
		return nil, awsapi.ValidationError("Error in alarm rule: %v", err)
	}
	if err := parseTags(in, &c.Base); err != nil {
		return nil, err
	}
	c.ActionsSuppressor = in.String("ActionsSuppressor")
	for _, p := range []struct {
		member string
		dst    **int64
	}{{"ActionsSuppressorWaitPeriod", &c.ActionsSuppressorWaitPeriod}, {"ActionsSuppressorExtensionPeriod", &c.ActionsSuppressorExtensionPeriod}} {
		v, ok, err := in.Int(p.member)
		if err != nil {
			return nil, err
		}
		if ok {
			if c.ActionsSuppressor == "" {
				return nil, awsapi.InvalidParameterCombination("%s requires ActionsSuppressor.", p.member)
			}
			*p.dst = &v
		}
	}
	return c, nil
}
