package dashboards

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Handler serves one API operation, as ingest.Server registers them.
type Handler = func(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error)

// API serves the dashboard operations over a store.
type API struct {
	store *Store
}

// New returns the API over store.
func New(store *Store) *API { return &API{store: store} }

// Handlers returns the dashboard operations by name, for ingest.Server.Register.
func (a *API) Handlers() map[string]Handler {
	return map[string]Handler{
		"PutDashboard":     a.PutDashboard,
		"GetDashboard":     a.GetDashboard,
		"ListDashboards":   a.ListDashboards,
		"DeleteDashboards": a.DeleteDashboards,
	}
}

const (
	maxNameLen        = 255
	maxDeleteNames    = 100
	invalidNameSuffix = "contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).\n"
)

// checkName checks a dashboard name: 1-255 of [A-Za-z0-9_-]. AWS's message
// for bad characters ends with a newline (recorded); the one for the
// length is cellwatch's.
func checkName(in awsapi.Input) (string, error) {
	if !in.Has("DashboardName") {
		return "", nullError("dashboardName")
	}
	name := in.String("DashboardName")
	if len(name) < 1 || len(name) > maxNameLen {
		return "", awsapi.InvalidParameterValue("The value for field DashboardName must be between 1 and 255 characters long.")
	}
	if !nameChars(name, "") {
		return "", awsapi.InvalidParameterValue("The value for field DashboardName " + invalidNameSuffix)
	}
	return name, nil
}

// nameChars reports whether s holds only alphanumerics, - and _, and the
// extra characters.
func nameChars(s, extra string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || strings.ContainsRune(extra, r)
		if !ok {
			return false
		}
	}
	return true
}

func nullError(member string) error { return awsapi.NullError(member) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// PutDashboard creates a dashboard or replaces its body. A body with
// validation errors is refused with InvalidParameterInput carrying them;
// a valid one answers an empty DashboardValidationMessages.
func (a *API) PutDashboard(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := checkName(req.Input)
	if err != nil {
		return nil, err
	}
	if !req.Input.Has("DashboardBody") {
		return nil, nullError("dashboardBody")
	}
	body := req.Input.String("DashboardBody")
	msgs, err := Validate(body)
	if _, ok := errors.AsType[*errNotJSON](err); ok {
		// AWS's wording for a body that is not JSON is unverified.
		return nil, awsapi.DashboardInvalidInput(messageList([]Message{{DataPath: "", Message: "Should be valid JSON"}}),
			"The field DashboardBody must be a valid JSON object")
	}
	if len(msgs) > 0 {
		return nil, awsapi.DashboardInvalidInput(messageList(msgs), "%s", invalidBodyMessage(msgs))
	}
	tags, err := awsapi.ParseTags(req.Input, "Tags", "tags")
	if err != nil {
		return nil, err
	}
	if tags, err = awsapi.MergeTags(nil, tags); err != nil {
		return nil, err
	}
	if err := a.store.Put(&Dashboard{Tenant: awsapi.TenantOf(req), Name: name, Body: body, Tags: tags}); err != nil {
		return nil, err
	}
	return awsapi.Obj("DashboardValidationMessages", awsapi.List{}), nil
}

func messageList(msgs []Message) awsapi.List {
	l := make(awsapi.List, len(msgs))
	for i, m := range msgs {
		l[i] = awsapi.Obj("DataPath", m.DataPath, "Message", m.Message)
	}
	return l
}

// invalidBodyMessage is the error's message as AWS writes it: a count and
// the messages as indented JSON.
func invalidBodyMessage(msgs []Message) string {
	var b strings.Builder
	if len(msgs) == 1 {
		b.WriteString("The dashboard body is invalid, there is 1 validation error:\n[\n")
	} else {
		b.WriteString("The dashboard body is invalid, there are " + strconv.Itoa(len(msgs)) + " validation errors:\n[\n")
	}
	for i, m := range msgs {
		b.WriteString("  {\n    \"dataPath\": " + jsonString(m.DataPath) + ",\n    \"message\": " + jsonString(m.Message) + "\n  }")
		if i < len(msgs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]")
	return b.String()
}

// GetDashboard returns a dashboard's ARN, body and name.
func (a *API) GetDashboard(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	name, err := checkName(req.Input)
	if err != nil {
		return nil, err
	}
	d, err := a.store.Get(awsapi.TenantOf(req), name)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, awsapi.DashboardNotFound("Dashboard %s does not exist", name)
	}
	return awsapi.Obj("DashboardArn", d.ARN(), "DashboardBody", d.Body, "DashboardName", d.Name), nil
}

// ListDashboards lists the dashboards whose names start with
// DashboardNamePrefix, by name, a page at a time.
func (a *API) ListDashboards(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	prefix := req.Input.String("DashboardNamePrefix")
	if len(prefix) > maxNameLen || !nameChars(prefix, ".") {
		return nil, awsapi.InvalidParameterValue("The value for field DashboardNamePrefix contains invalid characters. It can only contain alphanumerics, dot (.), dash (-) and underscore (_).")
	}
	after := ""
	if tok := req.Input.String("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !strings.HasPrefix(string(b), "d:") {
			return nil, awsapi.InvalidParameterValue("The value for parameter NextToken is not valid.")
		}
		after = string(b[2:])
	}
	entries, more, err := a.store.List(awsapi.TenantOf(req), prefix, after)
	if err != nil {
		return nil, err
	}
	list := make(awsapi.List, len(entries))
	for i, e := range entries {
		list[i] = awsapi.Obj("DashboardName", e.Name, "DashboardArn", ARNPrefix+e.Name, "LastModified", e.Modified, "Size", int64(e.Size))
	}
	out := awsapi.Obj("DashboardEntries", list)
	if more {
		out = out.Add("NextToken", base64.RawURLEncoding.EncodeToString([]byte("d:"+entries[len(entries)-1].Name)))
	}
	return out, nil
}

// DeleteDashboards deletes the named dashboards, all or none: when one does
// not exist nothing is deleted and the error names the missing ones. (The
// model AWS published in May 2026 says it deletes as many as it can;
// cellwatch keeps the earlier, documented all-or-nothing rule.)
func (a *API) DeleteDashboards(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	if !req.Input.Has("DashboardNames") {
		return nil, nullError("dashboardNames")
	}
	names := req.Input.Strings("DashboardNames")
	if len(names) > maxDeleteNames {
		return nil, awsapi.ConstraintError(len(names), "dashboardNames", "have length less than or equal to 100")
	}
	missing, err := a.store.Delete(awsapi.TenantOf(req), names)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		// AWS's wording unverified; moto's is "The specified dashboard does not exist. [names]".
		return nil, awsapi.DashboardNotFound("The specified dashboard does not exist. [%s]", strings.Join(missing, ", "))
	}
	return nil, nil
}
