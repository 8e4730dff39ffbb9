package main

import "testing"

// TestBoto3CompositeOnCreateAndUnknownOperation: through boto3, a composite
// alarm whose rule is already true is in ALARM as soon as it is created, and
// an operation boto3 knows but cellwatch does not serve gets the error AWS's
// framework gives for it.
func TestBoto3CompositeOnCreateAndUnknownOperation(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	var got struct{ Child, Parent, Reason, Unknown string }
	runBoto3(t, tn, `
cw.put_metric_alarm(AlarmName="child", Namespace="B", MetricName="m", Statistic="Average", Period=60,
    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
cw.set_alarm_state(AlarmName="child", StateValue="ALARM", StateReason="test")
cw.put_composite_alarm(AlarmName="parent", AlarmRule='ALARM("child")')
out = cw.describe_alarms(AlarmNames=["child", "parent"], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
unknown = ""
try:
    cw.put_anomaly_detector(SingleMetricAnomalyDetector={"Namespace": "B", "MetricName": "m", "Stat": "Average"})
except Exception as e:
    unknown = e.response["Error"]["Code"]
print(json.dumps({"Child": out["MetricAlarms"][0]["StateValue"], "Parent": out["CompositeAlarms"][0]["StateValue"],
    "Reason": out["CompositeAlarms"][0]["StateReason"], "Unknown": unknown}))
`, &got)
	if got.Child != "ALARM" || got.Parent != "ALARM" || got.Reason != "Alarm rule evaluated to TRUE" {
		t.Errorf("boto3 composite on create: got %+v; want the parent in ALARM at once", got)
	}
	if got.Unknown != "UnknownOperationException" && got.Unknown != "InvalidAction" {
		t.Errorf("boto3 PutAnomalyDetector: got code %q; want UnknownOperationException (CBOR, JSON) or InvalidAction (Query)", got.Unknown)
	}
}
