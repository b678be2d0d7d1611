package coreapi

import "github.com/backpackhq/backpack/data"

// Quotas cap what a backend's end users can create (see data.Quotas); the admin port is not
// held to them.
type Quotas = data.Quotas

// The quotas a backend starts with; its runtime settings (PATCH /admin/settings) override them.
const (
	DefaultQuotaCollections   = data.DefaultQuotaCollections
	DefaultQuotaFileBytes     = data.DefaultQuotaFileBytes
	DefaultQuotaUserFileBytes = data.DefaultQuotaUserFileBytes
)

// DefaultQuotas returns the quotas of a backend whose configuration names none.
func DefaultQuotas() Quotas { return data.DefaultQuotas() }
