package main

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// evaluations is the node's count of alarm evaluations.
func (tn *testNode) evaluations(t *testing.T) float64 {
	t.Helper()
	mfs, err := tn.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "cellwatch_alarm_evaluations_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

func alarmState(t *testing.T, cw *cloudwatch.Client, name string) types.StateValue {
	t.Helper()
	out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatalf("DescribeAlarms: %v", err)
	}
	if len(out.MetricAlarms) == 0 {
		return ""
	}
	return out.MetricAlarms[0].StateValue
}

// TestClusterAlarmsMove: an alarm put on one node is on every node; only
// its ring owner evaluates it, and every node shows the state it reached;
// when the owner stops, the alarm moves to another node, which evaluates
// it from then on (a state set through a third node is corrected by the
// new owner's next evaluation).
func TestClusterAlarmsMove(t *testing.T) {
	var down atomic.Bool
	brokers := strings.Join(kfakeBrokers(t, &down), ",")
	nodes := startClusterNodes(t, brokers, []string{"a", "b", "c"})
	a := nodes[0]
	const name = "cluster-high-load"
	if _, err := a.sdk().PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name),
		Namespace: aws.String("ClusterAlarm"), MetricName: aws.String("load"), Statistic: types.StatisticAverage, Period: aws.Int32(60),
		EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(50), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the alarm on every node", func() bool {
		for _, n := range nodes {
			if alarmState(t, n.sdk(), name) == "" {
				return false
			}
		}
		return true
	})
	for ago := 0; ago <= 3; ago++ {
		if _, err := nodes[ago%3].sdk().PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("ClusterAlarm"),
			MetricData: []types.MetricDatum{{MetricName: aws.String("load"), Value: aws.Float64(90), Timestamp: aws.Time(minute(ago).Add(10 * time.Second))}}}); err != nil {
			t.Fatal(err)
		}
	}
	owner := func(among []*testNode) *testNode {
		for _, n := range among {
			if n.cluster.OwnsAlarm(awsapi.DefaultTenant, name) {
				return n
			}
		}
		return nil
	}
	// evaluate runs an evaluation pass on every node and returns the nodes
	// whose evaluation count moved.
	evaluate := func(among []*testNode) []string {
		var moved []string
		for _, n := range among {
			before := n.evaluations(t)
			n.evaluator.EvaluateDue(context.Background(), map[string]int64{})
			if n.evaluations(t) > before {
				moved = append(moved, n.cfg.Cluster.NodeID)
			}
		}
		return moved
	}
	first := owner(nodes)
	if first == nil {
		t.Fatal("no node owns the alarm")
	}
	if got := evaluate(nodes); !slices.Equal(got, []string{first.cfg.Cluster.NodeID}) {
		t.Errorf("nodes that evaluated: %v; want only the owner %s", got, first.cfg.Cluster.NodeID)
	}
	waitFor(t, 30*time.Second, "every node to show ALARM", func() bool {
		for _, n := range nodes {
			if alarmState(t, n.sdk(), name) != types.StateValueAlarm {
				return false
			}
		}
		return true
	})

	first.stop()
	rest := slices.DeleteFunc(slices.Clone(nodes), func(n *testNode) bool { return n == first })
	stopped := time.Now()
	waitFor(t, 30*time.Second, "the alarm to move to another node", func() bool { return owner(rest) != nil })
	second := owner(rest)
	t.Logf("the alarm moved from %s to %s; %v after the stop returned (a stopping node leaves the ring before it ends)", first.cfg.Cluster.NodeID, second.cfg.Cluster.NodeID, time.Since(stopped).Round(time.Millisecond))
	other := rest[0]
	if other == second {
		other = rest[1]
	}
	if _, err := other.sdk().SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name),
		StateValue: types.StateValueOk, StateReason: aws.String("set by hand through a node that does not own it")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the new owner to see the state set on the other node", func() bool {
		return alarmState(t, second.sdk(), name) == types.StateValueOk
	})
	if got := evaluate(rest); !slices.Equal(got, []string{second.cfg.Cluster.NodeID}) {
		t.Errorf("after the move, nodes that evaluated: %v; want only the new owner %s", got, second.cfg.Cluster.NodeID)
	}
	waitFor(t, 30*time.Second, "the new owner's evaluation to put the alarm back in ALARM everywhere", func() bool {
		return alarmState(t, other.sdk(), name) == types.StateValueAlarm && alarmState(t, second.sdk(), name) == types.StateValueAlarm
	})
}
