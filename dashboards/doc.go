// Package dashboards serves CloudWatch's Dashboards API: PutDashboard,
// GetDashboard, ListDashboards and DeleteDashboards (docs/dashboards-and-tags.md).
//
// PutDashboard checks the DashboardBody against the body structure AWS
// documents (Validate): a body that is not JSON, and one with structural
// problems, are refused with InvalidParameterInput, the latter with its
// DashboardValidationMessages ({DataPath, Message}, worded as AWS's schema
// validator words them). The body is stored as sent: GetDashboard returns
// it byte for byte.
//
// # Service and storage
//
// Store is a dskit service: starting opens its pebble database (Config.Dir,
// <data>/dashboards by convention) and counts the dashboards, stopping
// closes it; the constructor opens nothing. Every write is synced before
// the operation answers. Keys:
//
//	d\x00<tenant>\x00<name>    a dashboard (JSON of Dashboard: body, last modification, tags)
//
// so ListDashboards with a name prefix is one bounded scan in name order,
// and its NextToken the last name of the page. Reads go to the database
// (no copy in memory): dashboards are few and read rarely.
package dashboards
