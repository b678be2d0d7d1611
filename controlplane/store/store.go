// Package store keeps the control plane's state — developer accounts and sessions, invites,
// settings, the backends registry with its desired state, and each operation's events — in
// PostgreSQL (production) or SQLite (the embedded default), behind one interface so the rest of
// the control plane never knows which.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors the store returns; callers test them with errors.Is.
var (
	// ErrNotFound: no such row (or a session that has expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique name or email is already taken.
	ErrConflict = errors.New("already exists")
	// ErrStale: a conditional update lost to a newer operation on the same backend.
	ErrStale = errors.New("superseded by a newer operation")
	// ErrRegistrationClosed: registration mode is closed and the account is not the first.
	ErrRegistrationClosed = errors.New("registration is closed")
	// ErrInviteInvalid: registration mode is invite and no usable invite was given (missing,
	// unknown, used, expired, or issued for another email).
	ErrInviteInvalid = errors.New("invite missing, used, expired or for another email")
)

// Role is what a developer may do: operators (the first account) see and manage everything.
type Role string

// Roles.
const (
	RoleOperator  Role = "admin"
	RoleDeveloper Role = "developer"
)

// RegistrationMode decides who may create an account once the first (operator) account exists.
type RegistrationMode string

// Registration modes.
const (
	RegistrationOpen   RegistrationMode = "open"
	RegistrationInvite RegistrationMode = "invite"
	RegistrationClosed RegistrationMode = "closed"
)

// SettingRegistration is the settings key holding the RegistrationMode.
const SettingRegistration = "registration"

// Developer is an account of the admin panel.
type Developer struct {
	ID           string
	Email        string // lower-cased by the caller; unique
	PasswordHash string
	Role         Role
	CreatedAt    time.Time
}

// Registration is a request to create an account. The store decides the role: the first
// account becomes the operator whatever the mode; later ones follow the registration mode
// read in the same transaction, consuming the invite atomically in invite mode.
type Registration struct {
	ID             string // chosen by the caller (random)
	Email          string
	PasswordHash   string
	InviteCodeHash string // hex SHA-256 of the invite code; "" when none was given
	Now            time.Time
}

// Session is a signed-in browser. Only the token's hash is stored.
type Session struct {
	TokenHash   string // hex SHA-256 of the cookie value
	DeveloperID string
	CSRFToken   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Invite lets one person register while registration is in invite mode.
type Invite struct {
	ID        string
	CodeHash  string // hex SHA-256 of the code handed out; the code itself is not stored
	Email     string // when set, only this email may use it; normalised like Developer.Email
	CreatedBy string // developer id
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
	UsedBy    string
}

// State is where a backend is in its lifecycle:
// creating → running | failed, running ⇄ degraded, deleting → deleted.
type State string

// Backend states.
const (
	StateCreating State = "creating"
	StateRunning  State = "running"
	StateDegraded State = "degraded"
	StateFailed   State = "failed"
	StateDeleting State = "deleting"
	StateDeleted  State = "deleted"
)

// Desired is what the developer asked for; the reconciler converges the runtime toward it.
type Desired string

// Desired states.
const (
	DesiredRunning Desired = "running"
	DesiredDeleted Desired = "deleted"
)

// Backend is one registered backend. Secrets are stored sealed (see tools/secretbox); the
// store never sees them in clear.
type Backend struct {
	Name           string
	OwnerID        string
	Desired        Desired
	State          State
	Purge          bool // with DesiredDeleted: remove the data too
	Node           string
	SealedAPIKey   []byte
	SealedAdminTok []byte
	Operation      int64 // increases with every create, re-create and delete; events belong to one
	Attempts       int   // consecutive failed attempts of the current operation
	NextAttemptAt  time.Time
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// StatusUpdate is the reconciler's report on the operation it is working on.
type StatusUpdate struct {
	State         State
	LastError     string
	Attempts      int
	NextAttemptAt time.Time
	Node          string // "" leaves the stored node unchanged
	Now           time.Time
}

// Event is one line of an operation's progress, as streamed to the panel.
type Event struct {
	ID        int64 // increasing across all backends; assigned by AddEvent
	Backend   string
	Operation int64
	At        time.Time
	Kind      string // "progress", "state" or "error"
	State     State  // the backend's state when the event was written
	Message   string
}

// Store is the control plane's persistent state. Every method is safe for concurrent use.
type Store interface {
	// Register creates an account (see Registration). Errors: ErrConflict (email taken),
	// ErrRegistrationClosed, ErrInviteInvalid.
	Register(ctx context.Context, r Registration) (Developer, error)
	DeveloperByEmail(ctx context.Context, email string) (Developer, error)
	DeveloperByID(ctx context.Context, id string) (Developer, error)
	ListDevelopers(ctx context.Context) ([]Developer, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns the session and its developer; ErrNotFound once expired.
	SessionByTokenHash(ctx context.Context, tokenHash string, now time.Time) (Session, Developer, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	CreateInvite(ctx context.Context, inv Invite) error
	ListInvites(ctx context.Context) ([]Invite, error)
	DeleteInvite(ctx context.Context, id string) error

	// Setting returns a setting's value, or ErrNotFound when it was never set.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// CreateBackend inserts a new backend (Operation 1). If the name belongs to a backend of the
	// same owner in state deleted (deleted keeping its data), it is revived instead: desired
	// running, state creating, Operation+1, attempts reset, secrets and node kept; the returned
	// Backend is the stored row. Any other existing row: ErrConflict.
	CreateBackend(ctx context.Context, b Backend) (Backend, error)
	Backend(ctx context.Context, name string) (Backend, error)
	// ListBackends lists backends by name; ownerID "" lists everyone's.
	ListBackends(ctx context.Context, ownerID string) ([]Backend, error)
	// RequestDelete sets desired deleted, state deleting, the purge flag, Operation+1 and
	// resets attempts; it returns the updated row.
	RequestDelete(ctx context.Context, name string, purge bool, now time.Time) (Backend, error)
	// UpdateStatus records the reconciler's progress on operation; ErrStale if the backend has
	// moved on to another operation, ErrNotFound if it is gone.
	UpdateStatus(ctx context.Context, name string, operation int64, u StatusUpdate) error
	SetSealedAPIKey(ctx context.Context, name string, sealed []byte, now time.Time) error
	// RemoveBackend deletes the row and its events once a purge has finished, if it is still on
	// operation (else ErrStale).
	RemoveBackend(ctx context.Context, name string, operation int64) error

	// AddEvent stores an event and returns it with its ID.
	AddEvent(ctx context.Context, e Event) (Event, error)
	// Events returns the backend's events of one operation with ID > afterID, oldest first.
	Events(ctx context.Context, backend string, operation int64, afterID int64) ([]Event, error)

	// Coordination: which process leads, and change notices between processes.
	Coordination

	// Ping checks the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}
