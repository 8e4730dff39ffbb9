package stream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// encodeBatch appends the payload of one frame holding records:
//
//	uint32 count | count × (uvarint length | value)
//
// The count comes first because seglog reads it to number the records.
func encodeBatch(dst []byte, records [][]byte) ([]byte, error) {
	if len(records) == 0 {
		return dst, errors.New("empty batch")
	}
	if len(records) > math.MaxUint32 {
		return dst, fmt.Errorf("%d records in one batch", len(records))
	}
	size := seglog.CountSize
	for _, r := range records {
		size += binary.MaxVarintLen64 + len(r)
	}
	if cap(dst)-len(dst) < size {
		dst = append(make([]byte, 0, len(dst)+size), dst...)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(records)))
	for _, r := range records {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
		dst = append(dst, r...)
	}
	if len(dst) > seglog.MaxRecordSize {
		return dst, fmt.Errorf("batch of %d records takes %d bytes, over the %d-byte limit", len(records), len(dst), seglog.MaxRecordSize)
	}
	return dst, nil
}

// decodeBatch appends the records of the frame at offset base with offsets
// >= from to msgs, while their values stay within maxBytes (the first
// message is taken whatever its size). Values alias payload. full reports
// that maxBytes stopped it.
func decodeBatch(msgs []Message, payload []byte, base, from int64, bytes *int, maxBytes int) (_ []Message, full bool, _ error) {
	if len(payload) < seglog.CountSize {
		return msgs, false, fmt.Errorf("decode batch at %d: %w", base, errBadBatch)
	}
	n := int64(binary.LittleEndian.Uint32(payload))
	p := payload[seglog.CountSize:]
	for i := range n {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(p)-k) {
			return msgs, false, fmt.Errorf("decode record %d of batch at %d: %w", i, base, errBadBatch)
		}
		v := p[k : k+int(l) : k+int(l)]
		p = p[k+int(l):]
		if base+i < from {
			continue
		}
		if len(msgs) > 0 && *bytes+len(v) > maxBytes {
			return msgs, true, nil
		}
		msgs = append(msgs, Message{Offset: base + i, Value: v})
		*bytes += len(v)
	}
	if len(p) != 0 {
		return msgs, false, fmt.Errorf("decode batch at %d: %d trailing bytes: %w", base, len(p), errBadBatch)
	}
	return msgs, false, nil
}
