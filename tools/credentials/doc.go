// Package credentials holds what every sign-in form needs — argon2id password hashing, email
// and password rules, and a login throttle — so that end users of a backend (coreapi) and
// developers of the control plane are protected by one implementation.
package credentials
