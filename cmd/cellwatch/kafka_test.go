package main

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cellwatch/cellwatch/fallback"
)

// kafkaNode starts a node whose stream is a three-broker kfake cluster; while
// down is set the brokers refuse every write (produce connections drop).
func kafkaNode(t *testing.T, dir string, down *atomic.Bool) *testNode {
	t.Helper()
	brokers := kfakeBrokers(t, down)
	return startNode(t, testConfig(t, dir, "-stream.kind", "kafka", "-stream.kafka.brokers", brokers[0]+","+brokers[1]+","+brokers[2],
		"-stream.kafka.delivery-timeout", "1s"))
}

// kfakeBrokers starts a three-broker kfake cluster for the test and returns
// its addresses; while down is set the brokers refuse every write.
func kfakeBrokers(t testing.TB, down *atomic.Bool) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	return c.ListenAddrs()
}

// TestKafkaStreamThroughTheNode: with Kafka as the stream, what the SDK
// writes reaches the long-term store bucket for bucket; a broker outage puts
// the node in degraded mode while writes and reads go on, and when the
// brokers return the backlog drains exactly once (both stores agree again).
// The admin API's faults work in front of Kafka as in front of the embedded
// stream.
func TestKafkaStreamThroughTheNode(t *testing.T) {
	var down atomic.Bool
	tn := kafkaNode(t, t.TempDir(), &down)
	cw := tn.sdk()
	rng := rand.New(rand.NewPCG(7, 8))
	metrics := []string{"value", "values", "stats"}
	writeMinutes(t, cw, "Kafka", 30, 21, rng)
	waitEqual(t, cw, "Kafka", metrics, minute(31), minute(-1))

	down.Store(true)
	waitFor(t, 30*time.Second, "the node to see the brokers down", func() bool {
		writeMinutes(t, cw, "Kafka", 20, 20, rng) // writes go on: every call must succeed
		mode, _, _ := tn.shipper.Health()
		return mode == fallback.ModeDegraded
	})
	writeMinutes(t, cw, "Kafka", 19, 11, rng)
	if tn.shipper.Backlog() == 0 {
		t.Error("no backlog while the brokers are down")
	}
	down.Store(false)
	waitFor(t, 60*time.Second, "the backlog to drain", func() bool { return tn.caughtUp(t) })
	waitEqual(t, cw, "Kafka", metrics, minute(31), minute(-1))

	if code, body := tn.admin(t, "POST", "/admin/stream/fault", url.Values{"mode": {"down"}}); code != 200 {
		t.Fatalf("inject a fault in front of kafka: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the injected fault to degrade the node", func() bool {
		writeMinutes(t, cw, "Kafka", 10, 10, rng)
		mode, _, _ := tn.shipper.Health()
		return mode == fallback.ModeDegraded
	})
	if code, body := tn.admin(t, "DELETE", "/admin/stream/fault", nil); code != 200 {
		t.Fatalf("clear the fault: %d %s", code, body)
	}
	waitFor(t, 60*time.Second, "the backlog to drain after the injected fault", func() bool { return tn.caughtUp(t) })
	waitEqual(t, cw, "Kafka", metrics, minute(31), minute(-1))
}
