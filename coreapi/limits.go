package coreapi

import (
	"errors"
	"time"
)

// Defaults of the limits that keep one client from taking the backend's CPU, database or
// other users' websockets for itself.
const (
	DefaultWSRelayMaxBytes         = 16 << 10
	DefaultWSRelaysPerSecond       = 10
	DefaultWSRelayBurst            = 20
	DefaultWSMaxConnectionsPerUser = 20
	DefaultMaxDocumentKeys         = 1000
	DefaultMaxDocumentNodes        = 10000
	DefaultQueryTimeout            = 10 * time.Second
)

// applyAbuseLimits fills the zero limits with their defaults and refuses negative ones.
func (c *Config) applyAbuseLimits() error {
	if c.WSRelayMaxBytes < 0 || c.WSRelaysPerSecond < 0 || c.WSRelayBurst < 0 || c.WSMaxConnectionsPerUser < 0 ||
		c.MaxDocumentKeys < 0 || c.MaxDocumentNodes < 0 || c.QueryTimeout < 0 {
		return errors.New("config: relay, connection, document and query limits must not be negative")
	}
	setDefault(&c.WSRelayMaxBytes, DefaultWSRelayMaxBytes)
	setDefault(&c.WSRelaysPerSecond, DefaultWSRelaysPerSecond)
	setDefault(&c.WSRelayBurst, DefaultWSRelayBurst)
	setDefault(&c.WSMaxConnectionsPerUser, DefaultWSMaxConnectionsPerUser)
	setDefault(&c.MaxDocumentKeys, DefaultMaxDocumentKeys)
	setDefault(&c.MaxDocumentNodes, DefaultMaxDocumentNodes)
	setDefault(&c.QueryTimeout, DefaultQueryTimeout)
	return nil
}

func setDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
