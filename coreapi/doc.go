// Package coreapi is the generic per-backend API every backend stack runs, as its HTTP and
// websocket edge: collections whose routes appear at runtime, end-user auth and sessions, the
// API key, file uploads and downloads, websockets and the private admin port. It parses each
// request or message, calls the service (package core), which owns every read and write
// of the backend's data, and renders the answer; data's refusals become the contract's status
// codes in one place (errors.go).
package coreapi
