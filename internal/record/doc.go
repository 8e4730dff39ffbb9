// Package record defines the write-ahead-log record of cellwatch: the batch of
// datums one PutMetricData call carries, after validation and normalisation,
// and its compact binary encoding.
//
// Ingest encodes a record and appends it to the WAL; the local store decodes it
// to apply it, at start (replay) and on the write path; later the stream and
// the long-term store carry the same bytes. The package belongs to no stage of
// the data flow, so every stage may import it.
//
// Encoding (all integers are unsigned or zig-zag varints, floats are 8 bytes
// little-endian IEEE 754):
//
//	kind(1 byte) tenant namespace ndatums { datum }
//	datum: name ndims {name value} unit flags ts_ms form...
//
// flags: bit 0 high resolution, bit 1 Values form, bit 2 StatisticValues
// form, bit 3 a Prometheus sample (remote write; the store keeps it as the
// bucket's last value). Records written before bit 3 existed have it clear.
//
// Dimensions are kept sorted by name, so equal metrics encode equally. A
// remote write request is one record of this kind too.
//
// Other kinds: KindLiveness (liveness.go), a node's mark that it was live,
// and the stream envelope Shipped with KindGap (shipped.go).
package record
