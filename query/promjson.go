package query

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/promql"
)

// writeMatrix answers a range query's matrix without reflection: a point
// at a time, as Prometheus' own API writes it (timestamps as seconds with
// milliseconds, values as strings; "+Inf", "-Inf", "NaN").
func writeMatrix(w http.ResponseWriter, m promql.Matrix, warns, infos []string) error {
	buf := make([]byte, 0, 64*1024)
	buf = append(buf, `{"status":"success","data":{"resultType":"matrix","result":[`...)
	for i, s := range m {
		if i > 0 {
			buf = append(buf, ',')
		}
		lbls, err := json.Marshal(s.Metric)
		if err != nil {
			return err
		}
		buf = append(buf, `{"metric":`...)
		buf = append(buf, lbls...)
		if len(s.Floats) > 0 {
			buf = append(buf, `,"values":[`...)
			for j, p := range s.Floats {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '[')
				buf = appendTimestamp(buf, p.T)
				buf = append(buf, ',', '"')
				buf = appendValue(buf, p.F)
				buf = append(buf, '"', ']')
			}
			buf = append(buf, ']')
		}
		if len(s.Histograms) > 0 {
			h, err := json.Marshal(s.Histograms)
			if err != nil {
				return err
			}
			buf = append(buf, `,"histograms":`...)
			buf = append(buf, h...)
		}
		buf = append(buf, '}')
	}
	buf = append(buf, `]}`...)
	for _, l := range []struct {
		key  string
		list []string
	}{{"warnings", warns}, {"infos", infos}} {
		if len(l.list) > 0 {
			enc, err := json.Marshal(l.list)
			if err != nil {
				return err
			}
			buf = append(buf, `,"`+l.key+`":`...)
			buf = append(buf, enc...)
		}
	}
	buf = append(buf, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf)
	return err
}

// appendTimestamp writes ms as seconds: "1435781451.781".
func appendTimestamp(buf []byte, ms int64) []byte {
	if ms < 0 {
		buf = append(buf, '-')
		ms = -ms
	}
	buf = strconv.AppendInt(buf, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		buf = append(buf, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		for buf[len(buf)-1] == '0' {
			buf = buf[:len(buf)-1]
		}
	}
	return buf
}

func appendValue(buf []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(buf, "+Inf"...)
	case math.IsInf(f, -1):
		return append(buf, "-Inf"...)
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}
