// Package jsfunc runs the JavaScript of backend functions (CONTRACT §6) with goja, each
// invocation inside a worker process of a Pool, so that no function can take the API process
// down: a runaway loop, an unbounded allocation or a crash costs at most one worker.
//
// The API process and its workers speak length-prefixed JSON frames over the workers' stdin and
// stdout. The package knows nothing of the app: databases and logs are reached through Host.
package jsfunc
