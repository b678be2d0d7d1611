package jsfunc

// A process started as a worker turns into one before anything else runs: every binary that
// can start workers imports this package, so none can forget to, and a test binary started as
// a worker never runs its tests a second time.
func init() { RunWorkerIfRequested() }
