package stream

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func kafkaCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func kafkaTestConfig(c *kfake.Cluster, topic string) KafkaConfig {
	return KafkaConfig{Brokers: c.ListenAddrs(), Topic: topic, ReplicationFactor: -1, MaxBufferedBytes: 1 << 20, DeliveryTimeout: time.Second}
}

// breakProduce makes the cluster drop every produce connection while down
// is set: the brokers are unreachable for writes.
func breakProduce(c *kfake.Cluster, down *atomic.Bool) {
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
}

func TestKafkaTopicPartitionsCannotChange(t *testing.T) {
	c := kafkaCluster(t)
	startKafka(t, kafkaTestConfig(c, "fixed"), 4) // creates the topic with 4
	k, err := NewKafka(kafkaTestConfig(c, "fixed"), 8, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = services.StartAndAwaitRunning(context.Background(), k)
	if err == nil || !strings.Contains(err.Error(), "has 4 partitions and -stream.partitions asks for 8") {
		t.Fatalf("start on a topic of another count: got %v; want an error naming 4 and 8", err)
	}
}

// TestKafkaOutageFailsFast: with the brokers refusing writes an Append
// returns ErrUnavailable within its context (it never blocks past it), and
// once they are back appends succeed again.
func TestKafkaOutageFailsFast(t *testing.T) {
	c := kafkaCluster(t)
	var down atomic.Bool
	breakProduce(c, &down)
	k := startKafka(t, kafkaTestConfig(c, "outage"), 1)
	ctx := context.Background()
	if _, err := k.Append(ctx, 0, records("up", 1)); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	began := time.Now()
	_, err := k.Append(actx, 0, records("down", 3))
	cancel()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("append while down: got %v; want ErrUnavailable", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("append while down took %s; want it bounded by its 2 s context and the 1 s delivery timeout", took)
	}
	down.Store(false)
	deadline := time.Now().Add(30 * time.Second)
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := k.Append(actx, 0, records("back", 1))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("append after the brokers came back: %v", err)
		}
	}
	var got []string
	for _, m := range fetchAll(t, k, 0, 0, 1<<20) {
		got = append(got, string(m.Value))
	}
	if got[0] != "up-0" || got[len(got)-1] != "back-0" {
		t.Errorf("records: got %v; want up-0 first and back-0 last (a failed append's records may or may not be between)", got)
	}
}

// TestKafkaRetentionGap: records the brokers deleted make a Fetch below the
// oldest kept ErrOffsetOutOfRange, and Bounds names where the partition now
// starts.
func TestKafkaRetentionGap(t *testing.T) {
	c := kafkaCluster(t)
	k := startKafka(t, kafkaTestConfig(c, "gap"), 1)
	ctx := context.Background()
	if _, err := k.Append(ctx, 0, records("r", 5)); err != nil {
		t.Fatal(err)
	}
	if msgs, err := k.Fetch(ctx, 0, 0, 1); err != nil || len(msgs) != 1 {
		t.Fatalf("fetch before deletion: %v, %v", msgs, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "gap", Partition: 0, At: 3, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).DeleteRecords(ctx, os); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Fetch(ctx, 0, 0, 1<<20); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Errorf("fetch below the oldest kept: got %v; want ErrOffsetOutOfRange", err)
	}
	if oldest, end, err := k.Bounds(ctx, 0); err != nil || oldest != 3 || end != 5 {
		t.Errorf("bounds after deletion: got %d, %d, %v; want 3, 5", oldest, end, err)
	}
	if got := values(fetchAll(t, k, 0, 3, 1<<20)); strings.Join(got, ",") != "r-3,r-4" {
		t.Errorf("fetch from the new start: got %v; want r-3, r-4", got)
	}
}

func TestKafkaConfigValidate(t *testing.T) {
	ok := KafkaConfig{Brokers: BrokerList{"127.0.0.1:9092"}, Topic: "t", ReplicationFactor: -1, MaxBufferedBytes: 1, DeliveryTimeout: time.Second}
	for name, tc := range map[string]struct {
		change func(*KafkaConfig)
		want   string
	}{
		"no brokers":             {func(c *KafkaConfig) { c.Brokers = nil }, "-stream.kafka.brokers is empty"},
		"no topic":               {func(c *KafkaConfig) { c.Topic = "" }, "-stream.kafka.topic is empty"},
		"no buffer":              {func(c *KafkaConfig) { c.MaxBufferedBytes = 0 }, "must be positive"},
		"replication factor0":    {func(c *KafkaConfig) { c.ReplicationFactor = 0 }, "-1 or from 1 to 32767"},
		"replication factor big": {func(c *KafkaConfig) { c.ReplicationFactor = 40_000 }, "-1 or from 1 to 32767"},
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("a good config: %v", err)
	}
	var b BrokerList
	if err := b.Set(" a:1, b:2 ,,"); err != nil || b.String() != "a:1,b:2" {
		t.Errorf("broker list: got %v, %v; want a:1,b:2", b, err)
	}
}
