package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// idleSummary is the local runtime's idle memory per backend: the resident memory of a
// `backpack dev` process with no backend, then with backends running, each read after the
// process was left alone for idle.
type idleSummary struct {
	backends      int
	before, after int64 // VmRSS, bytes
	idle          time.Duration
	// about says what ran: the binary and its backends' engine.
	about  string
	failed error
}

// measured reports whether both readings were taken.
func (s idleSummary) measured() bool { return s.backends > 0 && s.before > 0 && s.after > 0 }

// perBackend is (after − before) / backends, in bytes; meaningful only when measured.
func (s idleSummary) perBackend() int64 {
	if !s.measured() {
		return 0
	}
	return (s.after - s.before) / int64(s.backends)
}

// runIdleBackends starts `backpack dev` (bin) with its data under a new directory in parent,
// reads its idle resident memory, creates n backends through the control plane's API, waits
// until they all run, and reads it again once idle.
func runIdleBackends(ctx context.Context, bin, parent string, n int, idle time.Duration, gomaxprocs int) idleSummary {
	s := idleSummary{backends: n, idle: idle}
	s.failed = s.measure(ctx, bin, parent, gomaxprocs)
	return s
}

func (s *idleSummary) measure(ctx context.Context, bin, parent string, gomaxprocs int) error {
	dir, err := os.MkdirTemp(parent, "dev-")
	if err != nil {
		return err
	}
	info, err := readBinaryInfo(bin)
	if err != nil {
		return err
	}
	dev, err := startDev(ctx, bin, dir, gomaxprocs)
	if err != nil {
		return err
	}
	defer dev.stop()
	pid := fmt.Sprint(dev.cmd.Process.Pid)
	c := newCPClient(dev.port, 2)
	if err := c.signIn(ctx); err != nil {
		return dev.explain(err)
	}
	rest := func() error {
		select {
		case <-time.After(s.idle):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := rest(); err != nil {
		return err
	}
	if s.before, err = processMemory(pid, "VmRSS"); err != nil {
		return err
	}
	for range s.backends {
		if err := c.createBackend(ctx); err != nil {
			return dev.explain(err)
		}
	}
	if err := c.waitRunning(ctx, s.backends); err != nil {
		return dev.explain(err)
	}
	s.about = fmt.Sprintf("backpack dev %s, backends in-process; engine: %s", revisionOrUnknown(info, true), c.backendEngine(ctx, info))
	if err := rest(); err != nil {
		return err
	}
	s.after, err = processMemory(pid, "VmRSS")
	return err
}
