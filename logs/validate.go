package logs

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// The model's limits (botocore logs service-2.json) and cellwatch's bounds.
const (
	maxNameLen       = 512
	maxPatternLen    = 1024
	maxFilterNameLen = 512
	maxTagsPerGroup  = 50
)

var (
	groupNameRE   = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	groupNameRE0  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]*$`)
	streamNameRE  = regexp.MustCompile(`^[^:*]*$`)
	filterNameRE  = regexp.MustCompile(`^[^:*]*$`)
	tagKeyRE      = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`)
	tagValueRE    = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	groupClasses  = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY"}
)

// Errors whose texts are AWS's (reference §5).
var (
	errGroupNotFound  = awsapi.LogsResourceNotFound("The specified log group does not exist.")
	errStreamNotFound = awsapi.LogsResourceNotFound("The specified log stream does not exist.")
	errFilterNotFound = awsapi.LogsResourceNotFound("The specified metric filter does not exist.")
	errGroupExists    = awsapi.LogsResourceAlreadyExists("The specified log group already exists")
	errStreamExists   = awsapi.LogsResourceAlreadyExists("The specified log stream already exists")
	errBadToken       = awsapi.LogsInvalidParameter("The specified nextToken is invalid.")
	errNameTooLong    = awsapi.LogsInvalidParameter("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	errLimit          = awsapi.LogsLimitExceeded("Resource limit exceeded.")
)

// checkLen checks a member's length in characters against the model.
func checkLen(v, member string, lo, hi int) error {
	n := len([]rune(v))
	if n < lo {
		return awsapi.ConstraintError(v, member, fmt.Sprintf("have length greater than or equal to %d", lo))
	}
	if n > hi {
		return awsapi.ConstraintError(v, member, fmt.Sprintf("have length less than or equal to %d", hi))
	}
	return nil
}

func checkRE(v, member string, re *regexp.Regexp) error {
	if !re.MatchString(v) {
		return awsapi.ConstraintError(v, member, "satisfy regular expression pattern: "+strings.Trim(re.String(), "^$"))
	}
	return nil
}

// checkLogName checks a log group (stream: false) or log stream name.
func checkLogName(v, member string, stream bool) error {
	if len([]rune(v)) > maxNameLen {
		return errNameTooLong
	}
	if err := checkLen(v, member, 1, maxNameLen); err != nil {
		return err
	}
	if stream {
		return checkRE(v, member, streamNameRE)
	}
	return checkRE(v, member, groupNameRE)
}

// requiredName reads a required group or stream name member.
func requiredName(in awsapi.Input, member string, stream bool) (string, error) {
	if !in.Has(member) {
		return "", awsapi.NullError(member)
	}
	v := in.String(member)
	return v, checkLogName(v, member, stream)
}

// groupOf reads the log group a read names: logGroupName or
// logGroupIdentifier (a name or a log group ARN), exactly one of them when
// both are allowed.
func groupOf(tenant string, in awsapi.Input) (string, error) {
	name, id := in.Has("logGroupName"), in.Has("logGroupIdentifier")
	switch {
	case name && id:
		return "", awsapi.LogsInvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case id:
		v := in.String("logGroupIdentifier")
		if err := checkLen(v, "logGroupIdentifier", 1, 2048); err != nil {
			return "", err
		}
		if strings.HasPrefix(v, "arn:") {
			g, ok := groupOfARN(tenant, v)
			if !ok {
				return "", awsapi.LogsInvalidParameter("The specified log group identifier is not a valid ARN: %s", awsapi.Prefix(v))
			}
			return g, nil
		}
		return v, checkLogName(v, "logGroupIdentifier", false)
	case name:
		return requiredName(in, "logGroupName", false)
	}
	return "", awsapi.LogsInvalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
}

// arnPrefix starts every log group's ARN of a tenant; the name and ":*"
// follow.
func arnPrefix(tenant string) string {
	return "arn:aws:logs:" + awsapi.Region + ":" + awsapi.AccountOf(tenant) + ":log-group:"
}

func groupARN(tenant, name string) string { return arnPrefix(tenant) + name + ":*" }

// groupOfARN returns the log group a log group ARN of the tenant names
// (with or without the trailing ":*"); another account's ARN names none.
func groupOfARN(tenant, arn string) (string, bool) {
	rest, ok := strings.CutPrefix(arn, arnPrefix(tenant))
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(rest, ":*")
	return rest, groupNameRE.MatchString(rest) && len(rest) <= maxNameLen
}

// limitOf reads an optional limit member in [lo, hi] (def when absent).
func limitOf(in awsapi.Input, member string, lo, hi, def int64) (int, error) {
	v, ok, err := in.Int(member)
	if err != nil {
		return 0, err
	}
	if !ok {
		return int(def), nil
	}
	if v < lo {
		return 0, awsapi.ConstraintError(strconv.FormatInt(v, 10), member, fmt.Sprintf("have value greater than or equal to %d", lo))
	}
	if v > hi {
		return 0, awsapi.ConstraintError(strconv.FormatInt(v, 10), member, fmt.Sprintf("have value less than or equal to %d", hi))
	}
	return int(v), nil
}

// timeOf reads an optional epoch-milliseconds member (def when absent).
func timeOf(in awsapi.Input, member string, def int64) (int64, error) {
	v, ok, err := in.Int(member)
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if v < 0 {
		return 0, awsapi.ConstraintError(strconv.FormatInt(v, 10), member, "have value greater than or equal to 0")
	}
	return v, nil
}

// nameToken is a listing's nextToken: the last name returned.
func nameToken(kind, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + last))
}

// afterToken decodes a nameToken ("" when tok is empty).
func afterToken(kind, tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", errBadToken
	}
	last, ok := strings.CutPrefix(string(b), kind+":")
	if !ok {
		return "", errBadToken
	}
	return last, nil
}

// parseTagMap reads a tags map member: at most 50, keys and values as the
// model allows.
func parseTagMap(in awsapi.Input, member string, required bool) (map[string]string, error) {
	if !in.Has(member) {
		if required {
			return nil, awsapi.NullError(member)
		}
		return nil, nil
	}
	raw := in.Struct(member)
	if required && len(raw) == 0 {
		return nil, awsapi.ConstraintError("{}", member, "have length greater than or equal to 1")
	}
	if len(raw) > maxTagsPerGroup {
		return nil, awsapi.ConstraintError(fmt.Sprintf("map of %d tags", len(raw)), member, "have length less than or equal to 50")
	}
	out := make(map[string]string, len(raw))
	for k := range raw {
		v := awsapi.Input(raw).String(k)
		if err := checkTag(k, v, member); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func checkTag(k, v, member string) error {
	if err := checkLen(k, member+".key", 1, 128); err != nil {
		return err
	}
	if err := checkRE(k, member+".key", tagKeyRE); err != nil {
		return err
	}
	if strings.HasPrefix(k, "aws:") {
		return awsapi.LogsInvalidParameter("Tag keys beginning with 'aws:' are reserved: %s", awsapi.Prefix(k))
	}
	if err := checkLen(v, member+".value", 0, 256); err != nil {
		return err
	}
	return checkRE(v, member+".value", tagValueRE)
}

// tagKeysOf reads a list of tag keys (1-50).
func tagKeysOf(in awsapi.Input, member string) ([]string, error) {
	if !in.Has(member) {
		return nil, awsapi.NullError(member)
	}
	keys := in.Strings(member)
	if len(keys) < 1 || len(keys) > maxTagsPerGroup {
		return nil, awsapi.ConstraintError(fmt.Sprintf("list of %d keys", len(keys)), member, "have length between 1 and 50")
	}
	for _, k := range keys {
		if err := checkLen(k, member+".member", 1, 128); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func tagMap(tags map[string]string) awsapi.Map {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(awsapi.Map, len(keys))
	for i, k := range keys {
		out[i] = awsapi.Field{Name: k, Value: tags[k]}
	}
	return out
}

func enumText[T any](vals []T) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprint(v)
	}
	return "satisfy enum value set: [" + strings.Join(parts, ", ") + "]"
}
