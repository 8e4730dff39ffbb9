package stream

import (
	"errors"
	"flag"
	"fmt"
)

// Kinds of stream.
const (
	KindEmbedded = "embedded"
	KindKafka    = "kafka"
)

// Config selects the node's stream and configures it: the embedded on-disk
// log (the default) or a Kafka topic. The partition count is the stream's
// either way.
type Config struct {
	Kind           string `yaml:"kind"`
	EmbeddedConfig `yaml:",inline"`
	Kafka          KafkaConfig `yaml:"kafka"`
}

// RegisterFlags binds the stream settings to flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Kind, "stream.kind", KindEmbedded, "the stream between the WAL and the long-term store: embedded (on local disk) or kafka")
	c.EmbeddedConfig.RegisterFlags(fs)
	c.Kafka.RegisterFlags(fs)
}

// Validate checks the settings of the chosen kind.
func (c *Config) Validate() error {
	if err := c.EmbeddedConfig.Validate(); err != nil {
		return err
	}
	switch c.Kind {
	case KindEmbedded:
		return nil
	case KindKafka:
		return c.Kafka.Validate()
	case "":
		return errors.New("-stream.kind is empty: embedded or kafka")
	}
	return fmt.Errorf("-stream.kind %q is not a kind of stream: embedded or kafka", c.Kind)
}
