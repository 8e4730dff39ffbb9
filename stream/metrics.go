package stream

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

type embeddedMetrics struct {
	appendedRecords *prometheus.CounterVec
	appendedBytes   *prometheus.CounterVec
	fetches         *prometheus.CounterVec
	fetchedRecords  *prometheus.CounterVec
	endOffset       *prometheus.GaugeVec
	oldestOffset    *prometheus.GaugeVec
	retention       *prometheus.CounterVec
	segments        *prometheus.GaugeVec
	fsyncs          *prometheus.CounterVec
	fsyncDuration   prometheus.Histogram
	batchFrames     prometheus.Histogram
	writeErrors     *prometheus.CounterVec
	corruptions     *prometheus.CounterVec
	pendingBytes    *prometheus.GaugeVec
}

func newEmbeddedMetrics(reg prometheus.Registerer) *embeddedMetrics {
	f := promauto.With(reg)
	part := []string{"partition"}
	return &embeddedMetrics{
		appendedRecords: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_appended_records_total",
			Help: "Records appended to the embedded stream and acknowledged.",
		}, part),
		appendedBytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_appended_bytes_total",
			Help: "Bytes of record values appended to the embedded stream and acknowledged.",
		}, part),
		fetches: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_fetches_total",
			Help: "Fetch calls on the embedded stream that returned records.",
		}, part),
		fetchedRecords: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_fetched_records_total",
			Help: "Records returned by Fetch.",
		}, part),
		endOffset: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cellwatch_stream_end_offset",
			Help: "Offset the next record of the partition will get.",
		}, part),
		oldestOffset: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cellwatch_stream_oldest_offset",
			Help: "Offset of the oldest retained record of the partition, as of the last retention run.",
		}, part),
		retention: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_retention_deleted_segments_total",
			Help: "Segments deleted by retention, by reason (age or bytes).",
		}, []string{"partition", "reason"}),
		segments: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cellwatch_stream_segments",
			Help: "Retained segments of the partition, the active one included.",
		}, part),
		fsyncs: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_fsyncs_total",
			Help: "fsync calls on the partition's segments.",
		}, part),
		fsyncDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_stream_fsync_duration_seconds",
			Help:    "Duration of fsync calls on stream segments.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batchFrames: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cellwatch_stream_group_commit_batches",
			Help:    "Append batches written per group commit (one write and fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		writeErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_write_errors_total",
			Help: "Failed writes, fsyncs and segment creations of the partition.",
		}, part),
		corruptions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cellwatch_stream_corruptions_total",
			Help: "Corrupt frames found in the partition: torn tails repaired at open and bad frames met by readers.",
		}, part),
		pendingBytes: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cellwatch_stream_pending_bytes",
			Help: "Bytes queued for the partition's writer when it last took a batch.",
		}, part),
	}
}

// seglog returns the collectors of partition p that its segment log updates.
func (m *embeddedMetrics) seglog(p int) seglog.Metrics {
	l := strconv.Itoa(p)
	return seglog.Metrics{
		Fsyncs:        m.fsyncs.WithLabelValues(l),
		FsyncDuration: m.fsyncDuration,
		BatchFrames:   m.batchFrames,
		Segments:      m.segments.WithLabelValues(l),
		EndOffset:     m.endOffset.WithLabelValues(l),
		WriteErrors:   m.writeErrors.WithLabelValues(l),
		Corruptions:   m.corruptions.WithLabelValues(l),
		PendingBytes:  m.pendingBytes.WithLabelValues(l),
	}
}
