package dashboards

import (
	"context"
	"net/http"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// The tagging operations take any CloudWatch resource's ARN; a dashboard's
// is arn:aws:cloudwatch::<account>:dashboard/<name>. TagHandlers serves
// those of dashboards and hands every other ARN to the handlers it wraps
// (the alarm API's), so one TagResource serves both.

var tagOps = []string{"TagResource", "UntagResource", "ListTagsForResource"}

// TagHandlers returns the tagging operations for dashboard ARNs, each
// passing the requests for other resources to others[op] (absent: the
// resource is not found).
func (a *API) TagHandlers(others map[string]Handler) map[string]Handler {
	own := map[string]Handler{"TagResource": a.tagResource, "UntagResource": a.untagResource, "ListTagsForResource": a.listTags}
	out := make(map[string]Handler, len(tagOps))
	for _, op := range tagOps {
		mine, other := own[op], others[op]
		out[op] = func(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
			if strings.HasPrefix(req.Input.String("ResourceARN"), ARNPrefix) || other == nil {
				return mine(ctx, req, hdr)
			}
			return other(ctx, req, hdr)
		}
	}
	return out
}

// dashboardOf returns the dashboard name of the request's ResourceARN ("":
// the ARN is not one of a dashboard here, so nothing is found).
func dashboardOf(in awsapi.Input) (string, error) {
	if !in.Has("ResourceARN") {
		return "", nullError("resourceARN")
	}
	name, _ := strings.CutPrefix(in.String("ResourceARN"), ARNPrefix)
	return name, nil
}

func notFound(in awsapi.Input) error {
	arn := in.String("ResourceARN")
	return awsapi.ResourceNotFoundException("dashboard", arn, "The resource %s does not exist.", arn)
}

func (a *API) tagResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := dashboardOf(req.Input)
	if err != nil {
		return nil, err
	}
	tags, err := awsapi.TagRequest(req.Input)
	if err != nil {
		return nil, err
	}
	found, err := a.store.Tag(awsapi.TenantOf(req), name, tags)
	if err == nil && !found {
		err = notFound(req.Input)
	}
	return nil, err
}

func (a *API) untagResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := dashboardOf(req.Input)
	if err != nil {
		return nil, err
	}
	keys, err := awsapi.UntagRequest(req.Input)
	if err != nil {
		return nil, err
	}
	found, err := a.store.Untag(awsapi.TenantOf(req), name, keys)
	if err == nil && !found {
		err = notFound(req.Input)
	}
	return nil, err
}

// listTags lists a dashboard's tags; one that does not exist has none, as
// for alarms.
func (a *API) listTags(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := dashboardOf(req.Input)
	if err != nil {
		return nil, err
	}
	tags, _, err := a.store.Tags(awsapi.TenantOf(req), name)
	if err != nil {
		return nil, err
	}
	return awsapi.Obj("Tags", awsapi.TagList(tags)), nil
}
