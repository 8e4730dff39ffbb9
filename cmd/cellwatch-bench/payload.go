package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// call is one pre-encoded HTTP request: sent as is, many times.
type call struct {
	method string // "" is POST
	path   string
	header http.Header
	body   []byte
	datums int // datums (or samples) it carries
}

// request is c as an *http.Request to base.
func (c call) request(ctx context.Context, base string) (*http.Request, error) {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, base+c.path, bytes.NewReader(c.body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.ContentLength = int64(len(c.body))
	return req, nil
}

// loadShape is the PutMetricData load of a scenario.
type loadShape struct {
	series     int // distinct series written
	datums     int // datums per request
	resolution int // StorageResolution: 1 or 60
}

// datum is the s-th series' datum of a shape.
func (shape loadShape) datum(s int) (service, host string, value float64) {
	return "svc-" + strconv.Itoa(s%50), fmt.Sprintf("host-%06d", s), float64(s%997) / 10
}

// minCompression is where botocore and the Go SDK start gzipping a
// PutMetricData body (request_min_compression_size_bytes).
const minCompression = 10240

// sdkRecorder is an aws.HTTPClient that keeps what the Go SDK sends.
type sdkRecorder struct{ calls []call }

func (r *sdkRecorder) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read sdk body: %w", err)
	}
	h := req.Header.Clone()
	for _, k := range []string{"Authorization", "X-Amz-Date", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "Content-Length"} {
		h.Del(k)
	}
	r.calls = append(r.calls, call{path: req.URL.Path, header: h, body: body})
	rh := http.Header{"Smithy-Protocol": {"rpc-v2-cbor"}, "Content-Type": {"application/cbor"}}
	return &http.Response{StatusCode: 200, Header: rh, Body: io.NopCloser(bytes.NewReader(nil)), Request: req}, nil
}

// cborCalls has the Go SDK encode the shape's PutMetricData calls (CBOR,
// gzip past 10 KiB) as it would send them; the signature is left off (the
// node runs unsigned on loopback).
func cborCalls(ctx context.Context, shape loadShape, ts time.Time) ([]call, error) {
	rec := &sdkRecorder{}
	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://capture"), HTTPClient: rec,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	for first := 0; first < shape.series; first += shape.datums {
		data := make([]types.MetricDatum, 0, shape.datums)
		for s := first; s < min(first+shape.datums, shape.series); s++ {
			svc, host, v := shape.datum(s)
			data = append(data, types.MetricDatum{MetricName: aws.String("Latency"), Unit: types.StandardUnitMilliseconds,
				Timestamp: aws.Time(ts), StorageResolution: aws.Int32(int32(shape.resolution)), Value: aws.Float64(v),
				Dimensions: []types.Dimension{{Name: aws.String("Service"), Value: aws.String(svc)}, {Name: aws.String("Host"), Value: aws.String(host)}}})
		}
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
			return nil, fmt.Errorf("encode cbor: %w", err)
		}
		rec.calls[len(rec.calls)-1].datums = len(data)
	}
	return rec.calls, nil
}

// jsonCalls are the shape's PutMetricData calls in AWS JSON 1.0 as boto3
// sends them (timestamps in epoch seconds, gzip past 10 KiB).
func jsonCalls(shape loadShape, ts time.Time) ([]call, error) {
	type dim struct{ Name, Value string }
	type datum struct {
		MetricName        string
		Dimensions        []dim
		Timestamp         float64
		Value             float64
		Unit              string
		StorageResolution int
	}
	var calls []call
	for first := 0; first < shape.series; first += shape.datums {
		var data []datum
		for s := first; s < min(first+shape.datums, shape.series); s++ {
			svc, host, v := shape.datum(s)
			data = append(data, datum{MetricName: "Latency", Dimensions: []dim{{"Service", svc}, {"Host", host}},
				Timestamp: float64(ts.Unix()), Value: v, Unit: "Milliseconds", StorageResolution: shape.resolution})
		}
		body, err := json.Marshal(map[string]any{"Namespace": "Bench", "MetricData": data})
		if err != nil {
			return nil, fmt.Errorf("encode json: %w", err)
		}
		h := http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amz-Target": {"GraniteServiceVersion20100801.PutMetricData"}}
		c, err := compressed(call{path: "/", header: h, body: body, datums: len(data)})
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// queryCalls are the shape's PutMetricData calls in the AWS Query protocol.
func queryCalls(shape loadShape, ts time.Time) ([]call, error) {
	var calls []call
	for first := 0; first < shape.series; first += shape.datums {
		form := url.Values{"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"Bench"}}
		n := 0
		for s := first; s < min(first+shape.datums, shape.series); s++ {
			n++
			svc, host, v := shape.datum(s)
			p := "MetricData.member." + strconv.Itoa(n) + "."
			form.Set(p+"MetricName", "Latency")
			form.Set(p+"Dimensions.member.1.Name", "Service")
			form.Set(p+"Dimensions.member.1.Value", svc)
			form.Set(p+"Dimensions.member.2.Name", "Host")
			form.Set(p+"Dimensions.member.2.Value", host)
			form.Set(p+"Timestamp", ts.UTC().Format(time.RFC3339))
			form.Set(p+"Value", strconv.FormatFloat(v, 'g', -1, 64))
			form.Set(p+"Unit", "Milliseconds")
			form.Set(p+"StorageResolution", strconv.Itoa(shape.resolution))
		}
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
		c, err := compressed(call{path: "/", header: h, body: []byte(form.Encode()), datums: n})
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// compressed gzips c's body when the SDKs would (past 10 KiB).
func compressed(c call) (call, error) {
	if len(c.body) < minCompression {
		return c, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(c.body); err != nil {
		return c, fmt.Errorf("gzip body: %w", err)
	}
	if err := zw.Close(); err != nil {
		return c, fmt.Errorf("gzip body: %w", err)
	}
	c.body = buf.Bytes()
	c.header = c.header.Clone()
	c.header.Set("Content-Encoding", "gzip")
	return c, nil
}

// remoteWriteCalls are Prometheus remote write 1.0 requests (snappy
// protobuf) of `per` series each, one sample per series at ts, covering
// shape.series series: the shape a Prometheus server's queue sends.
func remoteWriteCalls(shape loadShape, ts time.Time) ([]call, error) {
	var calls []call
	for first := 0; first < shape.series; first += shape.datums {
		var wr prompb.WriteRequest
		for s := first; s < min(first+shape.datums, shape.series); s++ {
			svc, host, v := shape.datum(s)
			wr.Timeseries = append(wr.Timeseries, prompb.TimeSeries{
				Labels:  []prompb.Label{{Name: "__name__", Value: "latency"}, {Name: "host", Value: host}, {Name: "service", Value: svc}},
				Samples: []prompb.Sample{{Timestamp: ts.UnixMilli(), Value: v}}})
		}
		raw, err := wr.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode remote write: %w", err)
		}
		h := http.Header{"Content-Type": {"application/x-protobuf"}, "Content-Encoding": {"snappy"},
			"X-Prometheus-Remote-Write-Version": {"0.1.0"}, "User-Agent": {"cellwatch-bench"}}
		calls = append(calls, call{path: "/api/v1/write", header: h, body: snappy.Encode(nil, raw), datums: len(wr.Timeseries)})
	}
	return calls, nil
}
