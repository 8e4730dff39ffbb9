package alarmapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// The tagging operations over alarms (docs/dashboards-and-tags.md): the
// resource is an alarm's ARN, arn:aws:cloudwatch:<region>:<account>:alarm:<name>.

const maxARNLen = 1024

// TagResource adds tags to an alarm or overwrites their values.
func (s *API) TagResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := resourceAlarm(req.Input)
	if err != nil {
		return nil, err
	}
	tags, err := awsapi.TagRequest(req.Input)
	if err != nil {
		return nil, err
	}
	return nil, tagError(s.store.Tag(awsapi.TenantOf(req), name, tags), req.Input)
}

// UntagResource removes tags from an alarm; keys it does not have are ignored.
func (s *API) UntagResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := resourceAlarm(req.Input)
	if err != nil {
		return nil, err
	}
	keys, err := awsapi.UntagRequest(req.Input)
	if err != nil {
		return nil, err
	}
	return nil, tagError(s.store.Untag(awsapi.TenantOf(req), name, keys), req.Input)
}

// ListTagsForResource lists an alarm's tags by key. An alarm that does not
// exist (or no longer does) has none: AWS answers {"Tags": []} for a
// deleted alarm's ARN rather than an error.
func (s *API) ListTagsForResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := resourceAlarm(req.Input)
	if err != nil {
		return nil, err
	}
	tags, _ := s.store.Tags(awsapi.TenantOf(req), name)
	return awsapi.Obj("Tags", awsapi.TagList(tags)), nil
}

// resourceAlarm returns the alarm name of the request's ResourceARN. An ARN
// of another region, account or resource type names nothing cellwatch has:
// its name comes back as "" and the store finds no alarm. A string that is
// not a CloudWatch ARN at all is InvalidParameterValue (AWS's wording
// unverified).
func resourceAlarm(in awsapi.Input) (string, error) {
	if !in.Has("ResourceARN") {
		return "", nullError("resourceARN")
	}
	arn := in.String("ResourceARN")
	if len(arn) < 1 || len(arn) > maxARNLen {
		return "", awsapi.ConstraintError(arn, "resourceARN", "have length between 1 and 1024")
	}
	if name, ok := strings.CutPrefix(arn, alerting.ARNPrefix); ok && name != "" {
		return name, nil
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "cloudwatch" || parts[5] == "" {
		return "", awsapi.InvalidParameterValue("The value %s for parameter ResourceARN is not a valid CloudWatch resource ARN.", arn)
	}
	return "", nil
}

// tagError answers the store's not-found with the tagging operations' own
// ResourceNotFoundException (404; message wording unverified).
func tagError(err error, in awsapi.Input) error {
	if errors.Is(err, alerting.ErrNotFound) {
		arn := in.String("ResourceARN")
		return awsapi.ResourceNotFoundException("alarm", arn, "The resource %s does not exist.", arn)
	}
	return apiError(err)
}
