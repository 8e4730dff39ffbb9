package ingest

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
)

// LogWAL is the WAL as the log path needs it: its node ID is the origin of
// every event it takes (an event's identity, store.LogEvent).
type LogWAL interface {
	WAL
	NodeID() string
}

// LogStore is the local store as the log path needs it.
type LogStore interface {
	Admit() error
	ApplyLogs(origin string, offset uint64, rec *record.Logs)
}

// Logs writes PutLogEvents records: to the WAL (fsynced, like datums), then
// to the local store. The logs API calls AppendLogs once it has validated a
// call and added its metric filters' datums.
type Logs struct {
	wal   LogWAL
	store LogStore

	events, bytes prometheus.Counter
}

// NewLogs returns the log path's writer.
func NewLogs(wal LogWAL, store LogStore, reg prometheus.Registerer) *Logs {
	f := promauto.With(reg)
	return &Logs{
		wal: wal, store: store,
		events: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_ingest_log_events_total",
			Help: "Log events accepted by PutLogEvents.",
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_ingest_log_bytes_total",
			Help: "Message bytes of the log events accepted by PutLogEvents.",
		}),
	}
}

// AppendLogs makes rec durable and readable; its errors are AWS errors.
func (l *Logs) AppendLogs(ctx context.Context, rec *record.Logs) error {
	if err := l.store.Admit(); err != nil {
		return awsapi.ServiceUnavailable("%v", err)
	}
	size := 64
	for _, e := range rec.Events {
		size += len(e.Message) + 12
	}
	buf := record.AppendLogs(make([]byte, 0, size), rec)
	off, err := appendWAL(ctx, l.wal, buf, "log events")
	if err != nil {
		return err
	}
	l.store.ApplyLogs(l.wal.NodeID(), off, rec)
	l.events.Add(float64(len(rec.Events)))
	for _, e := range rec.Events {
		l.bytes.Add(float64(len(e.Message)))
	}
	return nil
}
