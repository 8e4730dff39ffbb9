package insights

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// MaxDiscoveredFields is the most fields one message yields (AWS extracts
// up to 1000 fields from a JSON event).
const MaxDiscoveredFields = 1000

// discover calls emit for each field a message yields: a JSON object is
// flattened into dot paths (a.b, arrays by index: a.items.0.id). Keys that
// start with @ get another @ so they cannot shadow system fields. Other
// messages yield nothing: Logs Insights does not split key=value text
// unless a parse command asks.
func discover(msg string, emit func(string, value)) {
	s := strings.TrimSpace(msg)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return
	}
	n := 0
	var flatten func(prefix string, v any)
	flatten = func(prefix string, v any) {
		if n >= MaxDiscoveredFields {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				flatten(join(prefix, k), x[k])
			}
		case []any:
			for i, y := range x {
				flatten(join(prefix, strconv.Itoa(i)), y)
			}
		case string:
			n++
			emit(prefix, str(x))
		case json.Number:
			n++
			emit(prefix, str(string(x)))
		case bool:
			n++
			emit(prefix, str(strconv.FormatBool(x)))
		}
	}
	for _, k := range sortedKeys(root) {
		name := k
		if strings.HasPrefix(name, "@") {
			name = "@" + name
		}
		flatten(name, root[k])
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DiscoverFields lists the fields a message yields, for GetLogGroupFields:
// the system fields @timestamp, @message, @logStream, @log and
// @ingestionTime, then the message's discovered fields in path order.
func DiscoverFields(message string) []string {
	out := append([]string(nil), systemFields...)
	discover(message, func(name string, _ value) { out = append(out, name) })
	return out
}
