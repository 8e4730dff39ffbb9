package main

import (
	"bytes"
	"flag"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configReference renders docs/configuration.md from Config: every flag with
// its YAML key, default and meaning, grouped as -help groups them, and the
// whole YAML file with every default. TestConfigReference keeps the file
// current.
func configReference() (string, error) {
	var cfg Config
	fs := flag.NewFlagSet("cellwatch", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	keys := yamlKeys(reflect.ValueOf(&cfg).Elem(), "")
	byGroup := map[string][]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) { byGroup[flagGroup(f.Name)] = append(byGroup[flagGroup(f.Name)], f) })

	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("<!-- Generated from the Config structs by TestConfigReference in cmd/cellwatch;\n")
	b.WriteString("     run `go test ./cmd/cellwatch -run TestConfigReference -update` after changing a setting. -->\n\n")
	b.WriteString("Every setting is a flag and a key of the YAML file given with `-config file.yaml`; a flag given on\n")
	b.WriteString("the command line wins over the file, and the file over the default. Unknown keys in the file are\n")
	b.WriteString("refused. `cellwatch -help` prints the same list, grouped the same way.\n")
	for _, g := range flagGroups {
		flags := byGroup[g.prefix]
		if len(flags) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| flag | YAML key | default | meaning |\n|---|---|---|---|\n", g.title)
		for _, f := range flags {
			key, ok := keys[flagTarget(f)]
			if !ok {
				return "", fmt.Errorf("flag -%s is bound to no field of Config with a yaml key", f.Name)
			}
			def := "`" + f.DefValue + "`"
			if f.DefValue == "" {
				def = "none"
			}
			fmt.Fprintf(&b, "| `-%s` | `%s` | %s | %s |\n", f.Name, key, def, strings.ReplaceAll(f.Usage, "|", `\|`))
		}
		delete(byGroup, g.prefix)
	}
	for prefix := range byGroup {
		return "", fmt.Errorf("flags with prefix %q belong to no group of flagGroups", prefix)
	}
	raw, err := yaml.Marshal(&cfg)
	if err != nil {
		return "", fmt.Errorf("encode defaults: %w", err)
	}
	b.WriteString("\n## The whole file, with every default\n\n```yaml\n")
	b.Write(bytes.TrimSpace(raw))
	b.WriteString("\n```\n")
	return b.String(), nil
}

// flagTarget is the address of the variable a standard flag.Value sets.
func flagTarget(f *flag.Flag) uintptr {
	v := reflect.ValueOf(f.Value)
	if v.Kind() != reflect.Pointer {
		return 0
	}
	return v.Pointer()
}

// yamlKeys maps the address of every leaf field under v to its YAML key
// (dotted for nested sections), following inline structs and leaving out
// fields tagged "-".
func yamlKeys(v reflect.Value, prefix string) map[uintptr]string {
	out := map[uintptr]string{}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		if sf.Type.Kind() == reflect.Struct && sf.Type.PkgPath() != "time" {
			sub := prefix
			if opts != "inline" {
				sub = prefix + name + "."
			}
			for addr, key := range yamlKeys(fv, sub) {
				out[addr] = key
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out[fv.Addr().Pointer()] = prefix + name
	}
	return out
}
