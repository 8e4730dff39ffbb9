package fallback

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// newWALMetrics registers the cellwatch_wal_* collectors on reg (nil: none)
// for the segment log to update.
func newWALMetrics(reg prometheus.Registerer) seglog.Metrics {
	f := promauto.With(reg)
	return seglog.Metrics{
		Appends: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_appends_total",
			Help: "Records appended to the WAL and acknowledged.",
		}),
		Bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_bytes_total",
			Help: "Bytes of acknowledged WAL frames (header included).",
		}),
		Fsyncs: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_fsyncs_total",
			Help: "fsync calls on WAL segments.",
		}),
		FsyncDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_wal_fsync_duration_seconds",
			Help:    "Duration of fsync calls on WAL segments.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		BatchFrames: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_wal_batch_records",
			Help:    "Records written per group-commit batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		Segments: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_segments",
			Help: "Retained WAL segments, the active one included.",
		}),
		EndOffset: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_end_offset",
			Help: "Offset the next WAL record will get.",
		}),
		WriteErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_write_errors_total",
			Help: "Failed WAL writes, fsyncs and segment creations.",
		}),
		Corruptions: f.NewCounter(prometheus.CounterOpts{
			Name: "cellwatch_wal_corruptions_total",
			Help: "Corrupt WAL frames found: torn tails repaired at open and bad frames met by readers.",
		}),
		PendingBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "cellwatch_wal_pending_bytes",
			Help: "Bytes of records queued for the WAL writer when it last took a batch.",
		}),
	}
}
