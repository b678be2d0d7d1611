package coreapi

import "github.com/backpackhq/backpack/core"

// Quotas cap what a backend's end users can create (see core.Quotas); the admin port is not
// held to them.
type Quotas = core.Quotas

// The quotas a backend starts with; its runtime settings (PATCH /admin/settings) override them.
const (
	DefaultQuotaCollections   = core.DefaultQuotaCollections
	DefaultQuotaFileBytes     = core.DefaultQuotaFileBytes
	DefaultQuotaUserFileBytes = core.DefaultQuotaUserFileBytes
)

// DefaultQuotas returns the quotas of a backend whose configuration names none.
func DefaultQuotas() Quotas { return core.DefaultQuotas() }
