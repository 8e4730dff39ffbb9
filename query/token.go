package query

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Paging tokens are opaque to clients: "v1:<position>:<fingerprint>", base64.
// The fingerprint ties a token to the request that produced it, so a token
// replayed with other parameters is refused instead of silently misread.

func encodeToken(position any, fingerprint uint64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "v1:%v:%x", position, fingerprint))
}

// decodeTokenString returns the position string of a token.
func decodeTokenString(token string, fingerprint uint64) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", awsapi.InvalidNextToken("The specified NextToken is invalid.")
	}
	rest, ok := strings.CutPrefix(string(raw), "v1:")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i < 0 || rest[i+1:] != strconv.FormatUint(fingerprint, 16) {
		return "", awsapi.InvalidNextToken("The specified NextToken is invalid.")
	}
	return rest[:i], nil
}

func decodeToken(token string, fingerprint uint64) (int, error) {
	s, err := decodeTokenString(token, fingerprint)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, awsapi.InvalidNextToken("The specified NextToken is invalid.")
	}
	return n, nil
}

// requestFingerprint hashes every member but NextToken and MaxDatapoints.
func requestFingerprint(in awsapi.Input) uint64 {
	clean := make(map[string]any, len(in))
	for k, v := range in {
		if k != "NextToken" && k != "MaxDatapoints" {
			clean[k] = v
		}
	}
	b, _ := json.Marshal(clean) // map keys are sorted, so equal inputs hash equally
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}
