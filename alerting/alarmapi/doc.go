// Package alarmapi serves the CloudWatch alarm API over an alerting.Store:
// PutMetricAlarm, PutCompositeAlarm, DescribeAlarms,
// DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
// DescribeAlarmHistory, EnableAlarmActions and DisableAlarmActions, and
// the tagging operations on alarms (TagResource, UntagResource,
// ListTagsForResource). It
// parses each awsapi.Request, validates it with AWS's error codes and
// messages (docs/cloudwatch-api.md §4.1), hands the alarm to the store and
// builds the response objects (the MetricAlarm and CompositeAlarm shapes,
// docs/cloudwatch-api.md §1.6). The checks that need the stored alarms (names taken,
// limits, composite children and cycles) are the store's.
package alarmapi
