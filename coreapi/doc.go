// Package coreapi is the generic per-backend API every backend stack runs: collections whose
// routes appear at runtime, end-user auth, the API key, file storage, and later websockets and
// the private admin port. It talks to its document store only through the docstore interface,
// so the same code runs on every engine (MongoDB in stacks, SQLite in the embedded default).
package coreapi
