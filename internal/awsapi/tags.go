package awsapi

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Tag is one key/value tag of a taggable resource (an alarm, a dashboard).
// Its JSON keys are those the alarm store has always written.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag limits (docs/dashboards-and-tags.md): keys 1-128 characters, values
// 0-256, at most MaxTags per resource, not counting the reserved aws: ones
// (which users cannot set, so a resource here never has any).
const (
	MaxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	reservedPrefix = "aws:"
)

// ParseTags reads and checks a request's list of tags (member, e.g. Tags;
// path is its lower-camel coral path, e.g. tags): lengths, characters, the
// reserved aws: prefix, unique keys, at most MaxTags. The wording of the
// InvalidParameterValue messages is cellwatch's (AWS's is unverified).
func ParseTags(in Input, member, path string) ([]Tag, error) {
	list := in.Structs(member)
	if len(list) > MaxTags {
		return nil, tooManyTags(len(list))
	}
	tags := make([]Tag, 0, len(list))
	seen := make(map[string]bool, len(list))
	for i, t := range list {
		tag := Tag{Key: t.String("Key"), Value: t.String("Value")}
		at := path + "." + strconv.Itoa(i+1) + ".member."
		if err := CheckTagKey(tag.Key, at+"key"); err != nil {
			return nil, err
		}
		if n := len([]rune(tag.Value)); n > maxTagValueLen {
			return nil, ConstraintError(tag.Value, at+"value", "have length between 0 and 256")
		}
		if !validTagText(tag.Value) {
			return nil, InvalidParameterValue("The value for tag %s contains invalid characters. It can only contain letters, numbers, spaces and _ . : / = + - @.", tag.Key)
		}
		if seen[tag.Key] {
			return nil, InvalidParameterValue("The tag key %s appears more than once.", tag.Key)
		}
		seen[tag.Key] = true
		tags = append(tags, tag)
	}
	return tags, nil
}

// ParseTagKeys reads and checks UntagResource's TagKeys.
func ParseTagKeys(in Input, member, path string) ([]string, error) {
	keys := in.Strings(member)
	for i, k := range keys {
		if err := CheckTagKey(k, path+"."+strconv.Itoa(i+1)+".member"); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// CheckTagKey checks one tag key: 1-128 characters of the allowed set, not
// starting with the reserved aws: prefix (in any case).
func CheckTagKey(key, path string) error {
	if n := len([]rune(key)); n < 1 || n > maxTagKeyLen {
		return ConstraintError(key, path, "have length between 1 and 128")
	}
	if strings.HasPrefix(strings.ToLower(key), reservedPrefix) {
		return InvalidParameterValue("The tag key %s starts with the reserved prefix aws:, which users cannot create, change or delete.", key)
	}
	if !validTagText(key) {
		return InvalidParameterValue("The tag key %s contains invalid characters. It can only contain letters, numbers, spaces and _ . : / = + - @.", key)
	}
	return nil
}

// validTagText reports whether s holds only letters, digits, spaces and
// _ . : / = + - @ (AWS's [\p{L}\p{Z}\p{N}_.:/=+\-@]*).
func validTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

func tooManyTags(n int) error {
	return InvalidParameterValue("A resource can have at most %d tags; the request would give it %d.", MaxTags, n)
}

// MergeTags returns have with add applied (a key present is overwritten,
// a new one added), sorted by key; more than MaxTags is an error.
func MergeTags(have, add []Tag) ([]Tag, error) {
	m := make(map[string]string, len(have)+len(add))
	for _, t := range have {
		m[t.Key] = t.Value
	}
	for _, t := range add {
		m[t.Key] = t.Value
	}
	if len(m) > MaxTags {
		return nil, tooManyTags(len(m))
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// RemoveTags returns have without the keys (absent keys are ignored).
func RemoveTags(have []Tag, keys []string) []Tag {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	out := make([]Tag, 0, len(have))
	for _, t := range have {
		if !drop[t.Key] {
			out = append(out, t)
		}
	}
	return out
}

// TagList is the Tags output member ([{Key, Value}]; [] when none).
func TagList(tags []Tag) List {
	out := make(List, len(tags))
	for i, t := range tags {
		out[i] = Obj("Key", t.Key, "Value", t.Value)
	}
	return out
}

// TagRequest reads TagResource's Tags (required).
func TagRequest(in Input) ([]Tag, error) {
	if !in.Has("Tags") {
		return nil, NullError("tags")
	}
	return ParseTags(in, "Tags", "tags")
}

// UntagRequest reads UntagResource's TagKeys (required).
func UntagRequest(in Input) ([]string, error) {
	if !in.Has("TagKeys") {
		return nil, NullError("tagKeys")
	}
	return ParseTagKeys(in, "TagKeys", "tagKeys")
}
