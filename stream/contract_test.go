package stream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
)

// openLog starts a Log of the given partitions for a test; it stops when the
// test ends.
type openLog func(t testing.TB, partitions int) Log

// TestLogContract runs what every Log must do against each implementation:
// the embedded stream and Kafka (franz-go's kfake cluster, three brokers).
func TestLogContract(t *testing.T) {
	for name, open := range map[string]openLog{"embedded": openEmbeddedLog, "kafka": openKafkaLog} {
		t.Run(name, func(t *testing.T) { testLogContract(t, open) })
	}
}

func openEmbeddedLog(t testing.TB, partitions int) Log {
	return openTest(t, EmbeddedConfig{Dir: t.TempDir(), Partitions: partitions})
}

func openKafkaLog(t testing.TB, partitions int) Log {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return startKafka(t, KafkaConfig{Brokers: c.ListenAddrs(), Topic: "contract", ReplicationFactor: -1,
		MaxBufferedBytes: 1 << 20, DeliveryTimeout: 5 * time.Second}, partitions)
}

func startKafka(t testing.TB, cfg KafkaConfig, partitions int) *Kafka {
	t.Helper()
	k, err := NewKafka(cfg, partitions, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = services.StopAndAwaitTerminated(context.Background(), k) })
	return k
}

func records(tag string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%d", tag, i)
	}
	return out
}

func testLogContract(t *testing.T, open openLog) {
	ctx := context.Background()
	l := open(t, 2)
	if l.Partitions() != 2 {
		t.Fatalf("partitions: got %d; want 2", l.Partitions())
	}
	// Offsets are dense per partition, from 0.
	for i, batch := range []struct {
		p     int
		recs  [][]byte
		first int64
	}{{0, records("a", 3), 0}, {1, records("x", 1), 0}, {0, records("b", 2), 3}} {
		first, err := l.Append(ctx, batch.p, batch.recs)
		if err != nil || first != batch.first {
			t.Fatalf("append %d: got first %d, %v; want %d", i, first, err, batch.first)
		}
	}
	if oldest, end, err := l.Bounds(ctx, 0); err != nil || oldest != 0 || end != 5 {
		t.Fatalf("bounds of 0: got %d, %d, %v; want 0, 5", oldest, end, err)
	}
	want := []string{"a-0", "a-1", "a-2", "b-0", "b-1"}
	got := values(fetchAll(t, l, 0, 0, 1<<20))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fetch 0 from 0: got %v; want %v", got, want)
	}
	if got := values(fetchAll(t, l, 0, 3, 1<<20)); fmt.Sprint(got) != fmt.Sprint(want[3:]) {
		t.Errorf("fetch 0 from 3: got %v; want %v", got, want[3:])
	}
	if got := values(fetchAll(t, l, 1, 0, 1<<20)); fmt.Sprint(got) != "[x-0]" {
		t.Errorf("fetch 1: got %v; want [x-0]", got)
	}
	// A small maxBytes still returns one record.
	if msgs, err := l.Fetch(ctx, 0, 1, 1); err != nil || len(msgs) != 1 || msgs[0].Offset != 1 || string(msgs[0].Value) != "a-1" {
		t.Errorf("fetch with maxBytes 1: got %v, %v; want the one record at 1", msgs, err)
	}
	// Past the end is out of range; at the end, Fetch waits for a record.
	if _, err := l.Fetch(ctx, 0, 9, 1<<20); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Errorf("fetch past the end: got %v; want ErrOffsetOutOfRange", err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := l.Fetch(short, 0, 5, 1<<20)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("fetch at the end with nothing new: got %v; want the context's deadline", err)
	}
	arrived := make(chan []Message, 1)
	go func() {
		wait, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		msgs, _ := l.Fetch(wait, 0, 5, 1<<20)
		arrived <- msgs
	}()
	time.Sleep(50 * time.Millisecond) // let it wait; the test holds either way
	if _, err := l.Append(ctx, 0, records("c", 1)); err != nil {
		t.Fatal(err)
	}
	if msgs := <-arrived; len(msgs) != 1 || string(msgs[0].Value) != "c-0" || msgs[0].Offset != 5 {
		t.Errorf("a waiting fetch: got %v; want c-0 at 5", msgs)
	}
	// Committed offsets, per group and partition.
	if off, err := l.Committed(ctx, "g", 0); err != nil || off != 0 {
		t.Errorf("committed of a new group: got %d, %v; want 0", off, err)
	}
	if err := l.Commit(ctx, "g", 0, 4); err != nil {
		t.Fatal(err)
	}
	if off, err := l.Committed(ctx, "g", 0); err != nil || off != 4 {
		t.Errorf("committed: got %d, %v; want 4", off, err)
	}
	if _, err := l.Append(ctx, 2, records("z", 1)); err == nil {
		t.Error("append to partition 2 of 2: got no error")
	}
}

// values are the messages' values, as strings.
func values(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Value)
	}
	return out
}

// BenchmarkLogAppend: batches of 100 records of 200 bytes appended to one
// partition and read back, for each Log. Kafka here is kfake, in memory:
// the number is cellwatch's client cost, not a broker's.
func BenchmarkLogAppend(b *testing.B) {
	for name, open := range map[string]openLog{"embedded": openEmbeddedLog, "kafka": openKafkaLog} {
		b.Run(name, func(b *testing.B) {
			l := open(b, 1)
			batch := make([][]byte, 100)
			for i := range batch {
				batch[i] = make([]byte, 200)
			}
			ctx := context.Background()
			b.SetBytes(100 * 200)
			var off int64
			for b.Loop() {
				if _, err := l.Append(ctx, 0, batch); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < len(batch); {
					msgs, err := l.Fetch(ctx, 0, off, 1<<20)
					if err != nil {
						b.Fatal(err)
					}
					got += len(msgs)
					off += int64(len(msgs))
				}
			}
		})
	}
}
