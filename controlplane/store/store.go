// Package store keeps the control plane's state — developer accounts and sessions, invites,
// settings, the backends registry with its desired state, each operation's events, and the
// backups kept of backends — in PostgreSQL (production) or SQLite (the embedded default),
// behind one interface so the rest of the control plane never knows which.
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
	// BackupSchedule and BackupKeep are the backend's own backup settings; "" and 0 follow
	// the operator's defaults.
	BackupSchedule BackupSchedule
	BackupKeep     int
	// CopyFrom is the id of the backup this backend is to be a copy of, until the copy has
	// been attempted once the backend first runs; "" for none.
	CopyFrom string
	// APIReplicas is how many API tasks the backend runs (1 when not given at create).
	APIReplicas int
	// APIImage is the API image the backend last became ready with; "" until it first has
	// (or with a runtime that runs no images).
	APIImage string
	// PendingAPIKey is the sealed key of an API key rotation under way (see BeginKeyRotation),
	// empty when none is; PendingKeyRevoke says whether it revokes the previous key, and
	// PendingKeySince when it began.
	PendingAPIKey    []byte
	PendingKeyRevoke bool
	PendingKeySince  time.Time
	// Volumes starts the names of the backend's volumes, fixed when the row is inserted (a
	// revive keeps it, with the data); "" (backends from before it existed) is the name.
	Volumes string
}

// BackupSchedule is how often scheduled backups of a backend are taken.
type BackupSchedule string

// Backup schedules; "" on a backend means the operator's default.
const (
	ScheduleHourly BackupSchedule = "hourly"
	ScheduleDaily  BackupSchedule = "daily"
	ScheduleOff    BackupSchedule = "off"
)

// BackupState is where a backup is: running while its archive streams in, then ready (the
// file is verified and in place) or failed (no file).
type BackupState string

// Backup states.
const (
	BackupRunning BackupState = "running"
	BackupReady   BackupState = "ready"
	BackupFailed  BackupState = "failed"
)

// BackupKind tells backups a developer asked for, which retention never deletes, from
// scheduled ones.
type BackupKind string

// Backup kinds.
const (
	BackupManual    BackupKind = "manual"
	BackupScheduled BackupKind = "scheduled"
)

// Backup is one archive of a backend kept by the control plane. It belongs to OwnerID, the
// backend's owner when it was taken, and outlives the backend.
type Backup struct {
	ID        string
	Backend   string
	OwnerID   string
	Kind      BackupKind
	State     BackupState
	Bytes     int64  // so far while running
	SHA256    string // lowercase hex of the whole archive, once ready
	Error     string // why it failed
	CreatedAt time.Time
	UpdatedAt time.Time // the last progress; a running backup without any for long is stale
}

// BackupResult ends a running backup.
type BackupResult struct {
	State  BackupState // ready or failed
	Bytes  int64
	SHA256 string
	Error  string
	Now    time.Time
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
	// The events first, if any, are the new operation's first (their backend, operation and,
	// when empty, state are the row's), recorded in the same transaction so that they come
	// before anything the reconciler records of it.
	CreateBackend(ctx context.Context, b Backend, first ...Event) (Backend, error)
	Backend(ctx context.Context, name string) (Backend, error)
	// ListBackends lists backends by name; ownerID "" lists everyone's.
	ListBackends(ctx context.Context, ownerID string) ([]Backend, error)
	// RequestDelete sets desired deleted, state deleting, the purge flag, Operation+1 and
	// resets attempts; it returns the updated row.
	// first are the operation's first events, as with CreateBackend.
	RequestDelete(ctx context.Context, name string, purge bool, now time.Time, first ...Event) (Backend, error)
	// UpdateStatus records the reconciler's progress on operation; ErrStale if the backend has
	// moved on to another operation, ErrNotFound if it is gone.
	UpdateStatus(ctx context.Context, name string, operation int64, u StatusUpdate) error
	// BeginKeyRotation records the sealed key about to be sent to the backend, and whether the
	// rotation revokes the previous key, before it is sent: a control plane stopped before it
	// stores the backend's answer sends the same key again (see FinishKeyRotation).
	// ErrConflict while another rotation is under way.
	BeginKeyRotation(ctx context.Context, name string, sealed []byte, revoke bool, now time.Time) error
	// FinishKeyRotation makes sealed the backend's API key and ends the rotation under way, if
	// pending (as BeginKeyRotation stored it) is still that rotation's key; else ErrStale.
	FinishKeyRotation(ctx context.Context, name string, pending, sealed []byte, now time.Time) error
	// AbandonKeyRotation ends the rotation under way without changing the key (the backend
	// refused it), if pending is still its key; else ErrStale.
	AbandonKeyRotation(ctx context.Context, name string, pending []byte) error
	// RemoveBackend deletes the row and its events once a purge has finished, if it is still on
	// operation (else ErrStale).
	RemoveBackend(ctx context.Context, name string, operation int64) error

	// SetBackupSettings sets the backend's own backup schedule and keep and returns the row.
	SetBackupSettings(ctx context.Context, name string, schedule BackupSchedule, keep int, now time.Time) (Backend, error)
	// SetAPIReplicas sets how many API tasks the backend runs and returns the row.
	SetAPIReplicas(ctx context.Context, name string, replicas int, now time.Time) (Backend, error)
	// SetAPIImage records the API image the backend became ready with, if it is still on
	// operation (else ErrStale).
	SetAPIImage(ctx context.Context, name string, operation int64, image string) error
	// ClearCopyFrom forgets the backend's pending copy once it has been attempted, if the
	// backend is still on operation (else ErrStale).
	ClearCopyFrom(ctx context.Context, name string, operation int64) error

	// CreateBackup inserts a backup; ErrConflict if one of the same backend is running.
	CreateBackup(ctx context.Context, b Backup) error
	Backup(ctx context.Context, id string) (Backup, error)
	// ListBackups lists a backend's backups, newest first; ownerID "" lists everyone's.
	ListBackups(ctx context.Context, backend, ownerID string) ([]Backup, error)
	// BackupProgress records how many bytes a running backup has so far.
	BackupProgress(ctx context.Context, id string, bytes int64, now time.Time) error
	// FinishBackup ends a running backup; ErrStale if it is no longer running, ErrNotFound if
	// it is gone.
	FinishBackup(ctx context.Context, id string, r BackupResult) error
	// FailStaleBackups marks failed, with message, every backup running without progress
	// since before, and returns them.
	FailStaleBackups(ctx context.Context, before time.Time, message string, now time.Time) ([]Backup, error)
	DeleteBackup(ctx context.Context, id string) error
	// BackupBytes is the size of a developer's ready and running backups together.
	BackupBytes(ctx context.Context, ownerID string) (int64, error)

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
