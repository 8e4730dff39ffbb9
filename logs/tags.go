package logs

import (
	"context"
	"net/http"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Tags: the deprecated log group operations (TagLogGroup, UntagLogGroup,
// ListTagsLogGroup, by name) and the resource ones (TagResource,
// UntagResource, ListTagsForResource, by log group ARN). Both edit the same
// tags, at most 50 per log group.

// TagLogGroup adds or replaces tags of a log group.
func (a *API) TagLogGroup(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	tags, err := parseTagMap(req.Input, "tags", true)
	if err != nil {
		return nil, err
	}
	return a.tag(awsapi.TenantOf(req), name, tags, errGroupNotFound)
}

// UntagLogGroup removes tags (the list member tags) of a log group.
func (a *API) UntagLogGroup(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	keys, err := tagKeysOf(req.Input, "tags")
	if err != nil {
		return nil, err
	}
	return a.untag(awsapi.TenantOf(req), name, keys, errGroupNotFound)
}

// ListTagsLogGroup returns a log group's tags.
func (a *API) ListTagsLogGroup(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := requiredName(req.Input, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	return a.listTags(awsapi.TenantOf(req), name, errGroupNotFound)
}

// errResourceNotFound answers a tagging call on an ARN that names no log
// group of the tenant.
var errResourceNotFound = awsapi.LogsResourceNotFound("The specified resource does not exist.")

func resourceOf(tenant string, in awsapi.Input) (string, error) {
	if !in.Has("resourceArn") {
		return "", awsapi.NullError("resourceArn")
	}
	arn := in.String("resourceArn")
	if err := checkLen(arn, "resourceArn", 1, 1011); err != nil {
		return "", err
	}
	g, ok := groupOfARN(tenant, arn)
	if !ok {
		return "", awsapi.LogsInvalidParameter("Invalid resource ARN: %s", awsapi.Prefix(arn))
	}
	return g, nil
}

// TagResource adds or replaces tags of the log group a resourceArn names.
func (a *API) TagResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := resourceOf(awsapi.TenantOf(req), req.Input)
	if err != nil {
		return nil, err
	}
	tags, err := parseTagMap(req.Input, "tags", true)
	if err != nil {
		return nil, err
	}
	return a.tag(awsapi.TenantOf(req), name, tags, errResourceNotFound)
}

// UntagResource removes tags (tagKeys) of the log group a resourceArn names.
func (a *API) UntagResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := resourceOf(awsapi.TenantOf(req), req.Input)
	if err != nil {
		return nil, err
	}
	keys, err := tagKeysOf(req.Input, "tagKeys")
	if err != nil {
		return nil, err
	}
	return a.untag(awsapi.TenantOf(req), name, keys, errResourceNotFound)
}

// ListTagsForResource returns the tags of the log group a resourceArn names.
func (a *API) ListTagsForResource(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := resourceOf(awsapi.TenantOf(req), req.Input)
	if err != nil {
		return nil, err
	}
	return a.listTags(awsapi.TenantOf(req), name, errResourceNotFound)
}

func (a *API) tag(tenant, name string, tags map[string]string, notFound error) (awsapi.Object, error) {
	out, err := a.updateGroup(tenant, name, func(g *logGroup) error {
		for k, v := range tags {
			g.Tags[k] = v
		}
		if len(g.Tags) > maxTagsPerGroup {
			return awsapi.LogsInvalidParameter("A log group can have at most %d tags; this call would leave %d.", maxTagsPerGroup, len(g.Tags))
		}
		return nil
	})
	if err == errGroupNotFound { //nolint:errorlint // a sentinel of this package, never wrapped
		return nil, notFound
	}
	return out, err
}

func (a *API) untag(tenant, name string, keys []string, notFound error) (awsapi.Object, error) {
	out, err := a.updateGroup(tenant, name, func(g *logGroup) error {
		for _, k := range keys {
			delete(g.Tags, k)
		}
		return nil
	})
	if err == errGroupNotFound { //nolint:errorlint // a sentinel of this package, never wrapped
		return nil, notFound
	}
	return out, err
}

func (a *API) listTags(tenant, name string, notFound error) (awsapi.Object, error) {
	var out awsapi.Object
	err := a.meta.withGroup(tenant, name, func(g *logGroup) error {
		out = awsapi.Obj("tags", tagMap(g.Tags))
		return nil
	})
	if err != nil {
		return nil, notFound
	}
	return out, nil
}
