package awsapi

import (
	"strings"
)

// Units is CloudWatch's StandardUnit enum, in the model's order.
var Units = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

var validUnits = func() map[string]bool {
	m := make(map[string]bool, len(Units))
	for _, u := range Units {
		m[u] = true
	}
	return m
}()

// CheckUnit returns the coral validation error for a unit outside the enum;
// member is the Query path of the parameter (MetricData.member.1.Unit).
func CheckUnit(unit, member string) error {
	if validUnits[unit] {
		return nil
	}
	return ConstraintError(unit, CoralPath(member), "satisfy enum value set: ["+strings.Join(Units, ", ")+"]")
}

// CoralPath turns a Query member path into the form validation messages use:
// MetricData.member.1.Unit -> metricData.1.member.unit.
func CoralPath(p string) string {
	parts := strings.Split(p, ".")
	out := make([]string, 0, len(parts))
	for i := 0; i < len(parts); i++ {
		if parts[i] == "member" && i+1 < len(parts) {
			out = append(out, parts[i+1], "member")
			i++
			continue
		}
		if parts[i] != "" {
			out = append(out, strings.ToLower(parts[i][:1])+parts[i][1:])
		}
	}
	return strings.Join(out, ".")
}

// DefaultTenant owns every metric until requests are authenticated.
const DefaultTenant = "default"

// Region and AccountID are what the node answers for its region and account
// (in ARNs and dynamic labels) until tenants map to accounts.
const (
	Region    = "us-east-1"
	AccountID = "000000000000"
)

// AccountOf is the account ID a tenant's ARNs carry: the tenant itself
// when it is an account ID (a tenant from -auth.credentials is its key's
// account), AccountID otherwise.
func AccountOf(tenant string) string {
	if len(tenant) != 12 {
		return AccountID
	}
	for i := range len(tenant) {
		if tenant[i] < '0' || tenant[i] > '9' {
			return AccountID
		}
	}
	return tenant
}

// TenantOf returns the tenant a request acts for: the account of the key
// that signed it, or DefaultTenant on a node that takes anonymous requests.
func TenantOf(r *Request) string {
	if r == nil || r.Tenant == "" {
		return DefaultTenant
	}
	return r.Tenant
}
