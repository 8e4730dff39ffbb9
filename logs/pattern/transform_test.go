package pattern

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func ptr(f float64) *float64 { return &f }

func TestTransformationValidate(t *testing.T) {
	space, err := Parse("[ip, user, ..., status, bytes]")
	if err != nil {
		t.Fatal(err)
	}
	js, err := Parse(`{ $.latency > 0 && $.svc = * }`)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := Parse("ERROR")
	if err != nil {
		t.Fatal(err)
	}
	ok := Transformation{MetricName: "Bytes", MetricNamespace: "App", MetricValue: "$bytes", Unit: "Bytes"}
	for _, c := range []struct {
		name   string
		p      *Pattern
		edit   func(*Transformation)
		substr string // "" means valid
	}{
		{"valid selector", space, func(*Transformation) {}, ""},
		{"valid number", terms, func(x *Transformation) { x.MetricValue = "1"; x.Unit = "" }, ""},
		{"valid float", terms, func(x *Transformation) { x.MetricValue = "-2.5e3" }, ""},
		{"valid positional", space, func(x *Transformation) { x.MetricValue = "$4" }, ""},
		{"positional past the fields", space, func(x *Transformation) { x.MetricValue = "$5" }, "not a field the filter pattern defines"},
		{"valid json", js, func(x *Transformation) {
			x.MetricValue = "$.latency"
			x.Dimensions = map[string]string{"Service": "$.svc"}
		}, ""},
		{"valid dims", space, func(x *Transformation) { x.Dimensions = map[string]string{"Status": "$status", "User": "$user"} }, ""},
		{"value not in pattern", space, func(x *Transformation) { x.MetricValue = "$nope" }, "Invalid metric value: $nope is not a field"},
		{"value selector on terms", terms, func(x *Transformation) { x.MetricValue = "$1" }, "is not a field"},
		{"value json not named", js, func(x *Transformation) { x.MetricValue = "$.other" }, "is not a field"},
		{"value not number", space, func(x *Transformation) { x.MetricValue = "one" }, "must be a number"},
		{"value empty", space, func(x *Transformation) { x.MetricValue = "" }, "metricValue' failed to satisfy constraint"},
		{"value too long", space, func(x *Transformation) { x.MetricValue = strings.Repeat("1", 101) }, "metricValue' failed to satisfy constraint"},
		{"name empty", space, func(x *Transformation) { x.MetricName = "" }, "metricName' failed to satisfy constraint: Member must have length"},
		{"name colon", space, func(x *Transformation) { x.MetricName = "a:b" }, "metricName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*$]*"},
		{"namespace star", space, func(x *Transformation) { x.MetricNamespace = "a*" }, "metricNamespace' failed to satisfy constraint"},
		{"namespace too long", space, func(x *Transformation) { x.MetricNamespace = strings.Repeat("n", 256) }, "metricNamespace' failed to satisfy constraint"},
		{"unit bad", space, func(x *Transformation) { x.Unit = "Furlongs" }, "unit' failed to satisfy constraint: Member must satisfy enum value set"},
		{"four dims", space, func(x *Transformation) {
			x.Dimensions = map[string]string{"a": "$ip", "b": "$user", "c": "$status", "d": "$bytes"}
		}, "at most 3 dimensions"},
		{"dims and default", space, func(x *Transformation) {
			x.Dimensions = map[string]string{"a": "$ip"}
			x.DefaultValue = ptr(0)
		}, "dimensions and defaultValue cannot both be specified"},
		{"default without dims", space, func(x *Transformation) { x.DefaultValue = ptr(0) }, ""},
		{"dim literal", space, func(x *Transformation) { x.Dimensions = map[string]string{"a": "ip"} }, "Invalid dimension value for a"},
		{"dim unknown", space, func(x *Transformation) { x.Dimensions = map[string]string{"a": "$host"} }, "Invalid dimension value for a"},
		{"dim empty name", space, func(x *Transformation) { x.Dimensions = map[string]string{"": "$ip"} }, "Invalid dimension name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := ok
			c.edit(&x)
			err := x.Validate(c.p)
			if c.substr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, c.substr) {
				t.Fatalf("Validate error = %v, want one containing %q", err, c.substr)
			}
		})
	}
}

func TestTransformationApply(t *testing.T) {
	p, err := Parse("[ip, user, ..., status, bytes]")
	if err != nil {
		t.Fatal(err)
	}
	hit, ok := p.Match("10.0.0.1 bob x y 503 2048")
	if !ok {
		t.Fatal("no match")
	}
	text, ok := p.Match("10.0.0.1 bob x y 503 -")
	if !ok {
		t.Fatal("no match")
	}
	for _, c := range []struct {
		name    string
		tr      Transformation
		f       Fields
		matched bool
		value   float64
		dims    map[string]string
		ok      bool
	}{
		{"selector value", Transformation{MetricValue: "$bytes"}, hit, true, 2048, nil, true},
		{"literal value", Transformation{MetricValue: "1"}, hit, true, 1, nil, true},
		{"dimensions", Transformation{MetricValue: "1", Dimensions: map[string]string{"Status": "$status", "IP": "$ip"}}, hit, true, 1,
			map[string]string{"Status": "503", "IP": "10.0.0.1"}, true},
		{"value not numeric", Transformation{MetricValue: "$bytes"}, text, true, 0, nil, false},
		{"no match no default", Transformation{MetricValue: "1"}, Fields{}, false, 0, nil, false},
		{"no match default", Transformation{MetricValue: "1", DefaultValue: ptr(0)}, Fields{}, false, 0, nil, true},
		{"no match default 7", Transformation{MetricValue: "$bytes", DefaultValue: ptr(7)}, Fields{}, false, 7, nil, true},
		{"missing selector", Transformation{MetricValue: "$.x"}, hit, true, 0, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, d, ok := c.tr.Apply(c.f, c.matched)
			if ok != c.ok || v != c.value || !maps.Equal(d, c.dims) {
				t.Fatalf("Apply = %v, %v, %v; want %v, %v, %v", v, d, ok, c.value, c.dims, c.ok)
			}
		})
	}

	jp, err := Parse(`{ $.ms > 0 }`)
	if err != nil {
		t.Fatal(err)
	}
	jf, ok := jp.Match(`{"ms": 12.5, "svc": "api"}`)
	if !ok {
		t.Fatal("no match")
	}
	tr := Transformation{MetricValue: "$.ms", Dimensions: map[string]string{"Service": "$.svc"}}
	if v, d, ok := tr.Apply(jf, true); !ok || v != 12.5 || d["Service"] != "api" {
		t.Fatalf("json Apply = %v, %v, %v", v, d, ok)
	}
}
