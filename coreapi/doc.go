// Package coreapi is the generic per-backend API every backend stack runs: collections whose
// routes appear at runtime, end-user auth, the API key, file storage, and later websockets and
// the private admin port. It talks to its document store only through the official Mongo
// driver, so the same code runs against MongoDB in production and FerretDB in the embedded
// default and the tests.
package coreapi
