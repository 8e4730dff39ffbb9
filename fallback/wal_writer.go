package fallback

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

type walMetrics struct {
	appends       prometheus.Counter
	bytes         prometheus.Counter
	fsyncs        prometheus.Counter
	fsyncDuration prometheus.Histogram
	batchRecords  prometheus.Histogram
	segments      prometheus.Gauge
	endOffset     prometheus.Gauge
	writeErrors   prometheus.Counter
	corruptions   prometheus.Counter
	pendingBytes  prometheus.Gauge
}

func newWALMetrics(reg prometheus.Registerer) *walMetrics {
	f := promauto.With(reg)
	return &walMetrics{
		appends: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_appends_total",
			Help: "Records appended to the WAL and acknowledged.",
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_bytes_total",
			Help: "Bytes of acknowledged WAL frames (header included).",
		}),
		fsyncs: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_fsyncs_total",
			Help: "fsync calls on WAL segments.",
		}),
		fsyncDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_wal_fsync_duration_seconds",
			Help:    "Duration of fsync calls on WAL segments.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batchRecords: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_wal_batch_records",
			Help:    "Records written per group-commit batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		segments: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_segments",
			Help: "Retained WAL segments, the active one included.",
		}),
		endOffset: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_end_offset",
			Help: "Offset the next WAL record will get.",
		}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_write_errors_total",
			Help: "Failed WAL writes, fsyncs and segment creations.",
		}),
		corruptions: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_corruptions_total",
			Help: "Corrupt WAL frames found: torn tails repaired at open and bad frames met by readers.",
		}),
		pendingBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_pending_bytes",
			Help: "Bytes of records queued for the WAL writer when it last took a batch.",
		}),
	}
}

// seglog hands the collectors to the segment log, which updates them.
func (m *walMetrics) seglog() seglog.Metrics {
	return seglog.Metrics{
		Appends:       m.appends,
		Bytes:         m.bytes,
		Fsyncs:        m.fsyncs,
		FsyncDuration: m.fsyncDuration,
		BatchFrames:   m.batchRecords,
		Segments:      m.segments,
		EndOffset:     m.endOffset,
		WriteErrors:   m.writeErrors,
		Corruptions:   m.corruptions,
		PendingBytes:  m.pendingBytes,
	}
}
