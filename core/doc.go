// Package core is the service layer under a backend's API: collections and their rules,
// documents read and written within a caller's scope and the document limits, end users,
// files (their metadata and their bytes), runtime settings and quotas, channels, the
// backend-wide locks and the database's incarnation, and the change events every replica
// receives. It reaches the database only through docstore, and it speaks neither HTTP nor
// websockets: package coreapi parses requests and messages, calls these methods and renders
// their answers, so both transports share one implementation of every rule (a test holds the
// package to that with go list -deps). Refusals are *Error values; the edge maps their Kind to
// a status in one place, and their codes and messages are the contract's.
package core
