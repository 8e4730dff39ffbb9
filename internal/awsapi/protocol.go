package awsapi

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Protocol is one of the wire protocols CloudWatch clients send.
type Protocol int

// The protocols, in the order the SDKs prefer them today.
const (
	CBOR  Protocol = iota // Smithy RPC v2 CBOR: Go, JS, Java SDKs
	JSON                  // AWS JSON 1.0: boto3, AWS CLI
	Query                 // AWS Query with XML responses: older SDKs
	Logs                  // AWS JSON 1.1 of CloudWatch Logs: every SDK
)

func (p Protocol) String() string {
	return [...]string{"cbor", "json", "query", "logs"}[p]
}

// CloudWatch's service identity on the wire.
const (
	ServiceShape = "GraniteServiceVersion20100801"
	cborPrefix   = "/service/" + ServiceShape + "/operation/"
	targetPrefix = ServiceShape + "."
	xmlNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
	// LogsShape is CloudWatch Logs' target prefix (AWS JSON 1.1).
	LogsShape  = "Logs_20140328"
	logsPrefix = LogsShape + "."
)

// Request is one decoded API call.
type Request struct {
	Protocol  Protocol
	Operation string
	Input     Input
	QueryMode bool // x-amzn-query-mode: errors use Query status codes
	ID        string
	BodyBytes int         // size of the decoded (uncompressed) body
	Header    http.Header // the request's headers
	Tenant    string      // who it acts for, as the Authenticator said ("": DefaultTenant)
}

// Identify tells which protocol and operation r uses, from its path and
// headers only. ok is false when r is not a CloudWatch API call.
func Identify(r *http.Request) (p Protocol, op string, ok bool) {
	if rest, found := strings.CutPrefix(r.URL.Path, cborPrefix); found {
		return CBOR, rest, rest != ""
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if op, found := strings.CutPrefix(t, logsPrefix); found {
			return Logs, op, op != ""
		}
		// Another service's target is kept whole: no operation has that
		// name, so it is an unknown one.
		op, found := strings.CutPrefix(t, targetPrefix)
		if !found {
			op = t
		}
		return JSON, op, op != ""
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || (r.Method == http.MethodGet && r.URL.Query().Has("Action")) {
		return Query, "", true // the operation is in the body
	}
	return 0, "", false
}

// Describe is what r's path and headers tell of it before its body is
// read: protocol, operation (for CBOR and JSON) and a fresh request ID, so
// that a refusal is answered in the caller's protocol. ok is false when r is
// not a CloudWatch API call.
func Describe(r *http.Request) (req *Request, ok bool) {
	p, op, ok := Identify(r)
	req = &Request{Protocol: p, Operation: op, ID: newRequestID(), Header: r.Header}
	req.QueryMode = strings.EqualFold(r.Header.Get("X-Amzn-Query-Mode"), "true") || p == Query
	return req, ok
}

// LogsBodyFactor scales the body bound for CloudWatch Logs calls: a legal
// PutLogEvents carries up to 1,048,576 bytes of messages, which JSON's
// escaping and each event's members (about 40 bytes for each of up to
// 10,000 events) make larger on the wire than a CloudWatch payload.
const LogsBodyFactor = 4

// ReadRequest reads, bounds, gunzips and decodes r in its protocol.
func ReadRequest(r *http.Request, limits Limits, auth Authenticator) (*Request, *Error) {
	req, ok := Describe(r)
	if !ok {
		return req, MalformedRequest("request is not a CloudWatch API call")
	}
	if req.Protocol == Logs {
		limits.MaxBodyBytes *= LogsBodyFactor
	}
	raw, plain := getBuffer(), getBuffer()
	defer putBuffer(raw)
	defer putBuffer(plain)
	body, aerr := readBody(r, limits, raw, plain)
	if aerr != nil {
		return req, aerr
	}
	if auth != nil {
		if req.Tenant, aerr = auth.Authenticate(r, raw.Bytes()); aerr != nil {
			return req, aerr
		}
	}
	req.BodyBytes = len(body)
	var err error
	switch req.Protocol {
	case CBOR:
		req.Input, err = decodeCBORLimited(body, limits)
	case JSON, Logs:
		req.Input, err = decodeJSONLimited(body, limits)
	case Query:
		text := string(body)
		if r.Method == http.MethodGet {
			text = r.URL.RawQuery
		}
		req.Input, req.Operation, err = parseQuery(text, limits)
		if err == nil && req.Operation == "" {
			return req, MissingParameter("The request must contain the parameter Action.")
		}
	}
	if err != nil {
		return req, decodeError(err, req.Protocol, limits)
	}
	return req, nil
}

// readBody reads r's body into raw and, when it is gzipped, inflates it
// into plain; both are bounded. The decoders copy what they keep, so the
// buffers go back to their pool after the request is decoded.
func readBody(r *http.Request, limits Limits, raw, plain *bytes.Buffer) ([]byte, *Error) {
	if _, err := raw.ReadFrom(io.LimitReader(r.Body, limits.MaxBodyBytes+1)); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, RequestTimeout("The request body did not arrive within the node's read time limit.")
		}
		return nil, MalformedRequest("read body: %v", err)
	}
	if int64(raw.Len()) > limits.MaxBodyBytes {
		e := RequestTooLarge("Request size exceeds the limit of %d bytes.", limits.MaxBodyBytes)
		e.Limit = "body_size"
		return nil, e
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		return raw.Bytes(), nil
	}
	// A gzip stream ends with its inflated size (mod 2^32): a body that
	// says it is over the limit is refused before it is inflated, and one
	// under it gets its buffer at once. The size may lie; the LimitReader
	// below bounds a body that does.
	if n := raw.Len(); n >= 18 {
		size := int64(binary.LittleEndian.Uint32(raw.Bytes()[n-4:]))
		if size > limits.MaxDecompressedBytes {
			return nil, decompressedTooLarge(limits)
		}
		plain.Grow(int(size) + bytes.MinRead)
	}
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	compressed := bytes.NewReader(raw.Bytes()) // raw keeps the bytes as sent: they are signed
	if zr == nil {
		zr, err = gzip.NewReader(compressed)
	} else {
		err = zr.Reset(compressed)
	}
	if err != nil {
		return nil, MalformedRequest("read gzip body: %v", err)
	}
	defer gzipReaders.Put(zr)
	if _, err := plain.ReadFrom(io.LimitReader(zr, limits.MaxDecompressedBytes+1)); err != nil {
		return nil, MalformedRequest("read gzip body: %v", err)
	}
	if int64(plain.Len()) > limits.MaxDecompressedBytes {
		return nil, decompressedTooLarge(limits)
	}
	return plain.Bytes(), nil
}

func decompressedTooLarge(limits Limits) *Error {
	e := RequestTooLarge("Decompressed request size exceeds the limit of %d bytes.", limits.MaxDecompressedBytes)
	e.Limit = "decompressed_size"
	return e
}

var (
	gzipReaders sync.Pool
	buffers     = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// maxPooledBuffer keeps a rare huge request from pinning its buffer.
const maxPooledBuffer = 4 << 20

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		b.Reset()
		buffers.Put(b)
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// WriteResponse writes out as the successful answer to req.
func WriteResponse(w http.ResponseWriter, req *Request, out Object) {
	h := w.Header()
	h.Set("X-Amzn-Requestid", req.ID)
	var body []byte
	switch req.Protocol {
	case CBOR:
		h.Set("Smithy-Protocol", "rpc-v2-cbor")
		h.Set("Content-Type", "application/cbor")
		body = cborEncode(out)
	case JSON:
		h.Set("Content-Type", "application/x-amz-json-1.0")
		body = appendJSON(nil, out)
	case Logs:
		h.Set("Content-Type", "application/x-amz-json-1.1")
		body = appendJSON(nil, out)
	case Query:
		h.Set("Content-Type", "text/xml")
		var buf bytes.Buffer
		buf.WriteString(`<` + req.Operation + `Response xmlns="` + xmlNamespace + `">`)
		if len(out) > 0 {
			writeXML(&buf, req.Operation+"Result", out)
		}
		buf.WriteString("<ResponseMetadata><RequestId>" + req.ID + "</RequestId></ResponseMetadata>")
		buf.WriteString("</" + req.Operation + "Response>")
		body = buf.Bytes()
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func cborEncode(out Object) []byte {
	if out == nil {
		out = Object{}
	}
	return cbor.Encode(toCBOR(out))
}

// WriteError writes err as req's protocol shapes errors. An error that is not
// an *Error is a server fault.
func WriteError(w http.ResponseWriter, req *Request, err error) {
	var aerr *Error
	if !errors.As(err, &aerr) {
		aerr = InternalFailure("%v", err)
	}
	h := w.Header()
	h.Set("X-Amzn-Requestid", req.ID)
	fault := "Sender"
	if aerr.Receiver {
		fault = "Receiver"
	}
	status := aerr.Status
	if !req.QueryMode && status < 500 {
		status = http.StatusBadRequest // plain RPC v2 / JSON: every client error is a 400
	}
	var body []byte
	switch req.Protocol {
	case CBOR, JSON:
		if !aerr.Unmodeled {
			h.Set("X-Amzn-Query-Error", aerr.Code+";"+fault)
		}
		out := Object{{"__type", aerr.Shape}}
		if aerr.Message != "" && !aerr.Unmodeled {
			out = out.Add("message", aerr.Message)
		}
		out = append(out, aerr.Members...)
		if req.Protocol == CBOR {
			h.Set("Smithy-Protocol", "rpc-v2-cbor")
			h.Set("Content-Type", "application/cbor")
			body = cborEncode(out)
		} else {
			h.Set("Content-Type", "application/x-amz-json-1.0")
			body = appendJSON(nil, out)
		}
	case Logs:
		// Logs has no query compatibility: the SDK reads the code from
		// __type alone.
		out := Object{{"__type", LogsErrorType(aerr)}}
		if aerr.Message != "" && !aerr.Unmodeled {
			out = out.Add("message", aerr.Message)
		}
		out = append(out, aerr.Members...)
		h.Set("Content-Type", "application/x-amz-json-1.1")
		body = appendJSON(nil, out)
	case Query:
		h.Set("Content-Type", "text/xml")
		var buf bytes.Buffer
		buf.WriteString(`<ErrorResponse xmlns="` + xmlNamespace + `"><Error>`)
		writeXML(&buf, "Type", fault)
		writeXML(&buf, "Code", aerr.Code)
		if aerr.Message != "" {
			writeXML(&buf, "Message", aerr.Message)
		}
		buf.WriteString("</Error>")
		writeXML(&buf, "RequestId", req.ID)
		buf.WriteString("</ErrorResponse>")
		body = buf.Bytes()
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
