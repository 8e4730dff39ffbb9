package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Message is one DashboardValidationMessages entry: where in the body
// (a JSON pointer, "/widgets/0/properties") and what is wrong.
type Message struct {
	DataPath string
	Message  string
}

// Body limits (docs/dashboards-and-tags.md).
const (
	maxWidgets          = 500
	maxWidgetMetrics    = 500
	maxDashboardMetrics = 2500
	maxWidth            = 24
	maxHeight           = 1000
	maxX                = 23
)

var (
	widgetTypes     = []string{"metric", "text", "log", "alarm", "explorer", "chart"}
	periodOverrides = []string{"auto", "inherit"}
	metricViews     = []string{"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}
	logViews        = []string{"table", "timeSeries", "bar", "pie"}
)

// errNotJSON is a body that does not parse as JSON.
type errNotJSON struct{ err error }

func (e *errNotJSON) Error() string { return "parse dashboard body: " + e.err.Error() }
func (e *errNotJSON) Unwrap() error { return e.err }

// Validate checks a DashboardBody against the body structure CloudWatch
// documents and returns its problems, worded as AWS's schema validator
// words them ("Should have required property 'metrics'"). Every message is
// an error: a body with any is refused. A body that is not JSON at all is
// an *errNotJSON.
func Validate(body string) ([]Message, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &errNotJSON{err}
	}
	if dec.More() {
		return nil, &errNotJSON{fmt.Errorf("data after the top-level value")}
	}
	var c checker
	c.dashboard(v)
	return c.msgs, nil
}

// checker collects the messages of one body.
type checker struct {
	msgs    []Message
	metrics int // metric arrays over all widgets
}

func (c *checker) add(path, format string, args ...any) {
	c.msgs = append(c.msgs, Message{DataPath: path, Message: fmt.Sprintf(format, args...)})
}

// object checks that v at path is an object and returns it.
func (c *checker) object(v any, path string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.add(path, "Should be object")
	}
	return m, ok
}

func (c *checker) required(m map[string]any, path string, names ...string) bool {
	ok := true
	for _, n := range names {
		if _, has := m[n]; !has {
			c.add(path, "Should have required property '%s'", n)
			ok = false
		}
	}
	return ok
}

// str checks an optional string member, and its allowed values when given.
func (c *checker) str(m map[string]any, name, path string, allowed []string) {
	v, has := m[name]
	if !has {
		return
	}
	s, ok := v.(string)
	switch {
	case !ok:
		c.add(path+"/"+name, "Should be string")
	case allowed != nil && !slices.Contains(allowed, s):
		c.add(path+"/"+name, "Should be equal to one of the allowed values")
	}
}

// integer checks an optional integer member within [lo, hi] (hi < 0: none).
func (c *checker) integer(m map[string]any, name, path string, lo, hi int64) {
	v, has := m[name]
	if !has {
		return
	}
	p := path + "/" + name
	n, ok := v.(json.Number)
	f, err := n.Float64()
	if !ok || err != nil || f != math.Trunc(f) {
		c.add(p, "Should be integer")
		return
	}
	if int64(f) < lo {
		c.add(p, "Should be >= %d", lo)
	}
	if hi >= 0 && int64(f) > hi {
		c.add(p, "Should be <= %d", hi)
	}
}

func (c *checker) dashboard(v any) {
	m, ok := c.object(v, "")
	if !ok {
		return
	}
	c.str(m, "start", "", nil)
	c.str(m, "end", "", nil)
	c.str(m, "periodOverride", "", periodOverrides)
	if vars, has := m["variables"]; has {
		if _, ok := vars.([]any); !ok {
			c.add("/variables", "Should be array")
		}
	}
	if !c.required(m, "", "widgets") {
		return
	}
	widgets, ok := m["widgets"].([]any)
	if !ok {
		c.add("/widgets", "Should be array")
		return
	}
	if len(widgets) > maxWidgets {
		c.add("/widgets", "Should NOT have more than %d items", maxWidgets)
	}
	for i, w := range widgets {
		c.widget(w, "/widgets/"+strconv.Itoa(i))
	}
	if c.metrics > maxDashboardMetrics {
		c.add("/widgets", "The dashboard has %d metrics; a dashboard can have at most %d", c.metrics, maxDashboardMetrics)
	}
}

func (c *checker) widget(v any, path string) {
	w, ok := c.object(v, path)
	if !ok {
		return
	}
	c.integer(w, "x", path, 0, maxX)
	c.integer(w, "y", path, 0, -1)
	c.integer(w, "width", path, 1, maxWidth)
	c.integer(w, "height", path, 1, maxHeight)
	if !c.required(w, path, "type", "properties") {
		return
	}
	typ, _ := w["type"].(string)
	c.str(w, "type", path, widgetTypes)
	props, ok := c.object(w["properties"], path+"/properties")
	if !ok {
		return
	}
	path += "/properties"
	switch typ {
	case "metric":
		c.metricWidget(props, path)
	case "text":
		c.required(props, path, "markdown")
		c.str(props, "markdown", path, nil)
		c.str(props, "background", path, []string{"solid", "transparent"})
	case "alarm":
		c.alarmWidget(props, path)
	case "log":
		c.required(props, path, "query")
		c.str(props, "query", path, nil)
		c.str(props, "view", path, logViews)
	}
}

func (c *checker) metricWidget(p map[string]any, path string) {
	_, hasMetrics := p["metrics"]
	ann, _ := p["annotations"].(map[string]any)
	_, hasAlarms := ann["alarms"]
	_, hasRegion := p["region"]
	if !hasMetrics && !hasAlarms {
		c.add(path, "Should have required property 'metrics'")
		c.add(path, "The metric widget should have specified a region and a data source or an alarm annotation")
		c.add(path, "Should have required property 'annotations'")
	} else if !hasRegion {
		c.add(path, "The metric widget should have specified a region and a data source or an alarm annotation")
	}
	c.str(p, "region", path, nil)
	c.str(p, "view", path, metricViews)
	c.str(p, "stat", path, nil)
	c.str(p, "title", path, nil)
	c.integer(p, "period", path, 1, -1)
	if !hasMetrics {
		return
	}
	metrics, ok := p["metrics"].([]any)
	if !ok {
		c.add(path+"/metrics", "Should be array")
		return
	}
	if len(metrics) > maxWidgetMetrics {
		c.add(path+"/metrics", "Should NOT have more than %d items", maxWidgetMetrics)
	}
	c.metrics += len(metrics)
	for j, m := range metrics {
		c.metricArray(m, path+"/metrics/"+strconv.Itoa(j))
	}
}

// metricArray checks one element of metrics: strings, with an optional
// rendering object last ([{"expression": ...}] is that object alone).
func (c *checker) metricArray(v any, path string) {
	const shape = `Field "metrics" has to be an array of array of strings, with an optional metricRenderer object as last element`
	arr, ok := v.([]any)
	if !ok {
		c.add(path, "Should be array")
		c.add(path, shape)
		return
	}
	for k, e := range arr {
		switch e.(type) {
		case string:
		case map[string]any:
			if k != len(arr)-1 {
				c.add(path, shape)
				return
			}
		default:
			c.add(path, shape)
			return
		}
	}
}

func (c *checker) alarmWidget(p map[string]any, path string) {
	if !c.required(p, path, "alarms") {
		return
	}
	alarms, ok := p["alarms"].([]any)
	switch {
	case !ok:
		c.add(path+"/alarms", "Should be array")
	case len(alarms) < 1:
		c.add(path+"/alarms", "Should NOT have fewer than 1 items")
	case len(alarms) > 100:
		c.add(path+"/alarms", "Should NOT have more than 100 items")
	}
	c.str(p, "sortBy", path, []string{"default", "stateUpdatedTimestamp", "timestamp"})
}
