package stream

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of KafkaConfig.
const (
	DefaultKafkaTopic            = "cellwatch"
	DefaultKafkaMaxBufferedBytes = 64 << 20
	DefaultKafkaDeliveryTimeout  = 10 * time.Second
	kafkaMaxPollRecords          = 10_000
)

// KafkaConfig configures the Kafka stream. The partition count is the
// stream's (-stream.partitions).
type KafkaConfig struct {
	// Brokers are the seed brokers, host:port.
	Brokers BrokerList `yaml:"brokers"`
	// Topic holds the stream; it is created with the stream's partition
	// count when missing, and refused when it has another count.
	Topic string `yaml:"topic"`
	// ReplicationFactor of the topic when cellwatch creates it (-1: the
	// brokers' default).
	ReplicationFactor int `yaml:"replication_factor"`
	// MaxBufferedBytes bounds the records waiting to be produced; past it
	// Append fails at once (ErrUnavailable) instead of blocking.
	MaxBufferedBytes int `yaml:"max_buffered_bytes"`
	// DeliveryTimeout bounds how long a record may wait for the brokers
	// before its Append fails.
	DeliveryTimeout time.Duration `yaml:"delivery_timeout"`
}

// BrokerList is a list of host:port that a flag takes comma-separated.
type BrokerList []string

func (b *BrokerList) String() string { return strings.Join(*b, ",") }

// Set splits a comma-separated list.
func (b *BrokerList) Set(s string) error {
	*b = nil
	for _, addr := range strings.Split(s, ",") {
		if addr = strings.TrimSpace(addr); addr != "" {
			*b = append(*b, addr)
		}
	}
	return nil
}

// RegisterFlags binds the Kafka settings to flags on fs.
func (c *KafkaConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(&c.Brokers, "stream.kafka.brokers", "seed brokers of the Kafka stream, host:port,host:port (with -stream.kind kafka)")
	fs.StringVar(&c.Topic, "stream.kafka.topic", DefaultKafkaTopic, "topic of the Kafka stream; created with -stream.partitions partitions when missing")
	fs.IntVar(&c.ReplicationFactor, "stream.kafka.replication-factor", -1, "replication factor of the topic when cellwatch creates it (-1: the brokers' default)")
	fs.IntVar(&c.MaxBufferedBytes, "stream.kafka.max-buffered-bytes", DefaultKafkaMaxBufferedBytes, "bytes of records waiting for the brokers; past it an append fails at once (the shipper backs off and the WAL keeps the backlog)")
	fs.DurationVar(&c.DeliveryTimeout, "stream.kafka.delivery-timeout", DefaultKafkaDeliveryTimeout, "how long a record may wait for the brokers before its append fails")
}

// Validate checks the settings of a Kafka stream.
func (c *KafkaConfig) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("-stream.kafka.brokers is empty: a Kafka stream needs at least one broker")
	case c.Topic == "":
		return errors.New("-stream.kafka.topic is empty")
	case c.MaxBufferedBytes <= 0 || c.DeliveryTimeout <= 0:
		return fmt.Errorf("-stream.kafka.max-buffered-bytes %d and -stream.kafka.delivery-timeout %s must be positive", c.MaxBufferedBytes, c.DeliveryTimeout)
	case c.ReplicationFactor == 0 || c.ReplicationFactor < -1 || c.ReplicationFactor > math.MaxInt16:
		return fmt.Errorf("-stream.kafka.replication-factor %d must be -1 or from 1 to %d", c.ReplicationFactor, math.MaxInt16)
	}
	return nil
}

// Kafka is the Log on a Kafka (or Kafka-compatible) topic: one topic
// partition per stream partition, records produced by an idempotent
// producer to the partition the caller names, read back by offset, and
// consumer-group offsets kept by the brokers.
//
// Kafka is a dskit service: starting connects, creates the topic when it is
// missing and checks its partition count; stopping closes every client.
// Its methods answer ErrClosed outside that time.
type Kafka struct {
	services.Service

	cfg        KafkaConfig
	partitions int
	logger     *slog.Logger

	open     atomic.Bool
	producer *kgo.Client // also the admin client's
	admin    *kadm.Client

	mu    sync.Mutex
	parts []*kafkaPartition // fetch state, one client each, made on first Fetch

	appended, failed prometheus.Counter
}

// kafkaPartition is the reading side of one partition.
type kafkaPartition struct {
	mu   sync.Mutex // one Fetch at a time
	cl   *kgo.Client
	next int64         // the offset cl delivers next
	buf  []*kgo.Record // polled, not yet returned
}

var _ Log = (*Kafka)(nil)

// NewKafka builds the Kafka stream of partitions partitions; it connects
// when the service starts. reg may be nil; logger nil discards logs.
func NewKafka(cfg KafkaConfig, partitions int, reg prometheus.Registerer, logger *slog.Logger) (*Kafka, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if partitions < 1 || partitions > MaxPartitions {
		return nil, fmt.Errorf("kafka stream: %d partitions must be between 1 and %d", partitions, MaxPartitions)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	k := &Kafka{cfg: cfg, partitions: partitions, logger: logger, parts: make([]*kafkaPartition, partitions)}
	for i := range k.parts {
		k.parts[i] = &kafkaPartition{}
	}
	f := promauto.With(reg)
	k.appended = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_stream_kafka_records_produced_total", Help: "Records the Kafka brokers acknowledged."})
	k.failed = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_stream_kafka_produce_errors_total", Help: "Appends to Kafka that failed (buffer full, brokers unreachable, timeout)."})
	k.Service = services.NewIdleService(k.starting, k.stopping)
	return k, nil
}

func (k *Kafka) starting(ctx context.Context) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(k.cfg.Brokers...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedBytes(k.cfg.MaxBufferedBytes),
		kgo.RecordDeliveryTimeout(k.cfg.DeliveryTimeout),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return fmt.Errorf("connect to kafka %v: %w", k.cfg.Brokers, err)
	}
	k.producer, k.admin = cl, kadm.NewClient(cl)
	if err := k.ensureTopic(ctx); err != nil {
		cl.Close()
		return err
	}
	k.open.Store(true)
	return nil
}

// ensureTopic creates the topic when it is missing and checks its
// partition count, which cannot change under a stream.
func (k *Kafka) ensureTopic(ctx context.Context) error {
	topics, err := k.admin.ListTopics(ctx, k.cfg.Topic)
	if err != nil {
		return fmt.Errorf("list kafka topic %s: %w", k.cfg.Topic, err)
	}
	if d, ok := topics[k.cfg.Topic]; ok && d.Err == nil {
		if n := len(d.Partitions); n != k.partitions {
			return fmt.Errorf("kafka topic %s has %d partitions and -stream.partitions asks for %d: the count of a stream cannot change", k.cfg.Topic, n, k.partitions)
		}
		return nil
	}
	resp, err := k.admin.CreateTopic(ctx, int32(k.partitions), int16(k.cfg.ReplicationFactor), nil, k.cfg.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create kafka topic %s: %w", k.cfg.Topic, err)
	}
	k.logger.Info("created kafka topic", "topic", k.cfg.Topic, "partitions", k.partitions)
	return nil
}

func (k *Kafka) stopping(error) error {
	k.open.Store(false)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.parts {
		if p.cl != nil {
			p.cl.Close() // wakes a Fetch that waits in PollRecords
		}
	}
	k.producer.Close()
	return nil
}

// Partitions returns the topic's partition count.
func (k *Kafka) Partitions() int { return k.partitions }

func (k *Kafka) check(p int) error {
	if !k.open.Load() {
		return ErrClosed
	}
	if p < 0 || p >= k.partitions {
		return fmt.Errorf("partition %d out of range: the stream has %d", p, k.partitions)
	}
	return nil
}

// Append produces records to partition p and returns once the brokers
// acknowledged all of them, with the offset of the first. The producer's
// buffer is bounded: when it is full, or the brokers do not answer within
// the delivery timeout or ctx, Append fails with ErrUnavailable, and records
// of a failed Append may still arrive (the stream's readers drop what they
// already applied, by origin offset).
func (k *Kafka) Append(ctx context.Context, p int, records [][]byte) (int64, error) {
	if err := k.check(p); err != nil {
		return 0, err
	}
	if len(records) == 0 {
		_, end, err := k.Bounds(ctx, p)
		return end, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first = int64(-1)
		errs  []error
	)
	wg.Add(len(records))
	for _, r := range records {
		rec := &kgo.Record{Topic: k.cfg.Topic, Partition: int32(p), Value: r}
		k.producer.TryProduce(ctx, rec, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if first < 0 || r.Offset < first {
				first = r.Offset
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done(): // the records may still arrive: readers drop duplicates
		k.failed.Inc()
		return 0, fmt.Errorf("append %d records to kafka partition %d: %w: %w", len(records), p, ErrUnavailable, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		k.failed.Inc()
		return 0, fmt.Errorf("append %d records to kafka partition %d: %w: %w", len(records), p, ErrUnavailable, errs[0])
	}
	k.appended.Add(float64(len(records)))
	return first, nil
}

// Fetch returns records of p from offset on, at most maxBytes of values but
// at least one record, waiting until ctx is done when offset is the end of
// the partition. An offset below the oldest the brokers keep or past the end
// is ErrOffsetOutOfRange, and so is a jump the brokers make past records
// that retention removed while they were being read.
func (k *Kafka) Fetch(ctx context.Context, p int, offset int64, maxBytes int) ([]Message, error) {
	if err := k.check(p); err != nil {
		return nil, err
	}
	part := k.parts[p]
	part.mu.Lock()
	defer part.mu.Unlock()
	if err := k.position(ctx, part, p, offset); err != nil {
		return nil, err
	}
	var (
		msgs  []Message
		bytes int
	)
	for len(msgs) == 0 {
		if len(part.buf) == 0 {
			if err := k.poll(ctx, part); err != nil {
				return nil, fmt.Errorf("fetch kafka partition %d at offset %d: %w", p, offset, err)
			}
			continue
		}
		if first := part.buf[0].Offset; first > part.next {
			gapFrom := part.next
			part.next = first // a Fetch from here uses what was polled
			return nil, fmt.Errorf("fetch kafka partition %d: offsets %d to %d are gone: %w", p, gapFrom, first, ErrOffsetOutOfRange)
		}
		for len(part.buf) > 0 {
			r := part.buf[0]
			if r.Offset < part.next { // before the position asked for
				part.buf = part.buf[1:]
				continue
			}
			if r.Offset > part.next || (len(msgs) > 0 && bytes+len(r.Value) > maxBytes) {
				break
			}
			msgs = append(msgs, Message{Offset: r.Offset, Value: r.Value})
			bytes += len(r.Value)
			part.next = r.Offset + 1
			part.buf = part.buf[1:]
		}
	}
	return msgs, nil
}

// position makes part deliver offset next: it starts the partition's
// client, or moves it, after checking that offset is within the partition.
func (k *Kafka) position(ctx context.Context, part *kafkaPartition, p int, offset int64) error {
	if part.cl != nil && part.next == offset {
		return nil
	}
	oldest, end, err := k.Bounds(ctx, p)
	if err != nil {
		return err
	}
	if offset < oldest || offset > end {
		return fmt.Errorf("fetch kafka partition %d at offset %d (retained %d to %d): %w", p, offset, oldest, end, ErrOffsetOutOfRange)
	}
	part.buf, part.next = nil, offset
	if part.cl != nil {
		part.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{k.cfg.Topic: {int32(p): {Epoch: -1, Offset: offset}}})
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.open.Load() {
		return ErrClosed
	}
	part.cl, err = kgo.NewClient(
		kgo.SeedBrokers(k.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{k.cfg.Topic: {int32(p): kgo.NewOffset().At(offset)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return fmt.Errorf("connect to kafka for partition %d: %w", p, err)
	}
	return nil
}

// poll waits for the next records of part's client.
func (k *Kafka) poll(ctx context.Context, part *kafkaPartition) error {
	fetches := part.cl.PollRecords(ctx, kafkaMaxPollRecords)
	if fetches.IsClientClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	fetches.EachError(func(_ string, _ int32, err error) { errs = append(errs, err) })
	fetches.EachRecord(func(r *kgo.Record) { part.buf = append(part.buf, r) })
	if len(part.buf) == 0 && len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
	}
	return nil
}

// Bounds returns the oldest offset the brokers keep and the end offset of p.
func (k *Kafka) Bounds(ctx context.Context, p int) (oldest, end int64, err error) {
	if err := k.check(p); err != nil {
		return 0, 0, err
	}
	starts, err := k.admin.ListStartOffsets(ctx, k.cfg.Topic)
	if err != nil {
		return 0, 0, fmt.Errorf("list kafka start offsets: %w: %w", ErrUnavailable, err)
	}
	ends, err := k.admin.ListEndOffsets(ctx, k.cfg.Topic)
	if err != nil {
		return 0, 0, fmt.Errorf("list kafka end offsets: %w: %w", ErrUnavailable, err)
	}
	s, ok1 := starts.Lookup(k.cfg.Topic, int32(p))
	e, ok2 := ends.Lookup(k.cfg.Topic, int32(p))
	switch {
	case !ok1 || !ok2:
		return 0, 0, fmt.Errorf("kafka partition %d of %s: no offsets listed: %w", p, k.cfg.Topic, ErrUnavailable)
	case s.Err != nil:
		return 0, 0, fmt.Errorf("kafka partition %d start offset: %w: %w", p, ErrUnavailable, s.Err)
	case e.Err != nil:
		return 0, 0, fmt.Errorf("kafka partition %d end offset: %w: %w", p, ErrUnavailable, e.Err)
	}
	return s.Offset, e.Offset, nil
}

// Commit stores group's committed offset for p with the brokers.
func (k *Kafka) Commit(ctx context.Context, group string, p int, offset int64) error {
	if err := k.check(p); err != nil {
		return err
	}
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: k.cfg.Topic, Partition: int32(p), At: offset, LeaderEpoch: -1})
	if err := k.admin.CommitAllOffsets(ctx, group, os); err != nil {
		return fmt.Errorf("commit kafka offset of group %s, partition %d: %w: %w", group, p, ErrUnavailable, err)
	}
	return nil
}

// Committed returns group's committed offset for p, 0 when none.
func (k *Kafka) Committed(ctx context.Context, group string, p int) (int64, error) {
	if err := k.check(p); err != nil {
		return 0, err
	}
	resps, err := k.admin.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0, nil // a group that never committed
	}
	if err != nil {
		return 0, fmt.Errorf("fetch kafka offsets of group %s: %w: %w", group, ErrUnavailable, err)
	}
	r, ok := resps.Lookup(k.cfg.Topic, int32(p))
	switch {
	case ok && r.Err != nil: // checked first: a failed partition also says offset -1
		return 0, fmt.Errorf("fetch kafka offset of group %s, partition %d: %w: %w", group, p, ErrUnavailable, r.Err)
	case !ok || r.At < 0:
		return 0, nil
	}
	return r.At, nil
}
