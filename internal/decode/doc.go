// Package decode reads the binary encodings of this module (the WAL records
// of internal/record, the chunks and blocks of store) with bounds checks: a
// Reader consumes bytes, varints and floats from a slice and, at the first
// read past the end or bad varint, records the error its user gave and
// returns zeros from then on, so a decoder checks Err once at the end and
// never panics on bad data.
package decode
