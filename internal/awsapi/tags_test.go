package awsapi

import (
	"errors"
	"strings"
	"testing"
)

func tagInput(kv ...string) Input {
	var l []any
	for i := 0; i+1 < len(kv); i += 2 {
		l = append(l, map[string]any{"Key": kv[i], "Value": kv[i+1]})
	}
	return Input{"Tags": l}
}

func errCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestParseTags(t *testing.T) {
	many := make([]string, 0, 102)
	for i := range 51 {
		many = append(many, "k"+strings.Repeat("x", i), "v")
	}
	for name, tc := range map[string]struct {
		in   Input
		code string
	}{
		"fine":                {tagInput("team", "db", "Cost Center", "a.b:c/d=e+f-g@h_i", "empty", ""), ""},
		"unicode letters":     {tagInput("équipe", "données"), ""},
		"none":                {Input{}, ""},
		"empty key":           {tagInput("", "v"), "ValidationError"},
		"long key":            {tagInput(strings.Repeat("k", 129), "v"), "ValidationError"},
		"key of 128":          {tagInput(strings.Repeat("k", 128), "v"), ""},
		"long value":          {tagInput("k", strings.Repeat("v", 257)), "ValidationError"},
		"value of 256":        {tagInput("k", strings.Repeat("v", 256)), ""},
		"bad key character":   {tagInput("a*b", "v"), "InvalidParameterValue"},
		"bad value":           {tagInput("k", "a#b"), "InvalidParameterValue"},
		"reserved prefix":     {tagInput("aws:owner", "me"), "InvalidParameterValue"},
		"reserved any case":   {tagInput("AWS:owner", "me"), "InvalidParameterValue"},
		"aws without colon":   {tagInput("awsome", "v"), ""},
		"duplicate key":       {tagInput("k", "1", "k", "2"), "InvalidParameterValue"},
		"51 tags":             {tagInput(many...), "InvalidParameterValue"},
		"50 tags":             {tagInput(many[:100]...), ""},
		"keys case-sensitive": {tagInput("k", "1", "K", "2"), ""},
	} {
		if _, err := ParseTags(tc.in, "Tags", "tags"); errCode(err) != tc.code {
			t.Errorf("%s: got %v; want %q", name, err, tc.code)
		}
	}
}

func TestMergeAndRemoveTags(t *testing.T) {
	have := []Tag{{"b", "1"}, {"a", "2"}}
	got, err := MergeTags(have, []Tag{{"c", "3"}, {"a", "9"}})
	if err != nil || len(got) != 3 || got[0] != (Tag{"a", "9"}) || got[1] != (Tag{"b", "1"}) || got[2] != (Tag{"c", "3"}) {
		t.Errorf("merge: %v %v", got, err)
	}
	if got := RemoveTags(got, []string{"b", "nope"}); len(got) != 2 || got[0].Key != "a" || got[1].Key != "c" {
		t.Errorf("remove: %v", got)
	}
	full := make([]Tag, MaxTags)
	for i := range full {
		full[i] = Tag{Key: strings.Repeat("k", i+1)}
	}
	if _, err := MergeTags(full, []Tag{{"new", ""}}); errCode(err) != "InvalidParameterValue" {
		t.Errorf("51st tag: %v", err)
	}
	if got, err := MergeTags(full, []Tag{{"k", "overwritten"}}); err != nil || len(got) != MaxTags {
		t.Errorf("overwrite at the limit: %d %v", len(got), err)
	}
}
