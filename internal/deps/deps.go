// Package deps pins the module set while the packages that use it are written.
package deps

import (
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	_ "github.com/aws/smithy-go/encoding/cbor"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/grafana/dskit/services"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promauto"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sys/unix"
)
