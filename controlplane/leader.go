package controlplane

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Several control planes may serve one installation at once (a start-first update runs the
// new one beside the old for a few seconds). Each serves the whole HTTP API: requests only
// write desired state and events to the store. Only the leader — the holder of the store's
// leader lock — runs the reconciler; the others try to take the lock every leaderPoll, so when
// the leader stops or dies another takes over within seconds and resumes whatever it left.
//
// What one process changes, it announces through the store's notices (PostgreSQL
// LISTEN/NOTIFY): the others wake their event and listing streams, and the leader starts a
// reconcile pass at once, so a backend created through any process is deployed without
// waiting for the next periodic pass.

// leaderPoll is how often a control plane that does not lead tries to take the lead.
const leaderPoll = time.Second

// lead runs the reconciler and the backup scheduler whenever this process holds the leader lock, until ctx ends.
func (s *Server) lead(ctx context.Context) {
	following := false // whether the log says another control plane leads
	for {
		lease, ok, err := s.store.TryLead(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("take the leader lock", "err", err)
		}
		if !ok && err == nil && !following {
			s.log.Info("another control plane leads: this one serves the API and takes over when it stops")
			following = true
		}
		if ok {
			following = false
			s.log.Info("leading: this control plane reconciles")
			s.leading.Store(true)
			term, cancel := context.WithCancel(ctx)
			go func() {
				select {
				case <-lease.Lost():
					cancel()
				case <-term.Done():
				}
			}()
			var scheduler sync.WaitGroup
			scheduler.Add(1)
			go func() {
				defer scheduler.Done()
				s.scheduleBackups(term)
			}()
			s.reconciler.run(term)
			cancel()
			scheduler.Wait()
			s.leading.Store(false)
			lease.Release()
			if ctx.Err() == nil {
				s.log.Warn("lost the leader lock (its database connection failed); reconciling stops until this control plane leads again")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(leaderPoll):
		}
	}
}

// Notices are "INSTANCE KIND NAME": the process that sent it, then what changed.
const (
	noticeBackend = "backend" // a backend's row or events changed: NAME is the backend
	noticeSignOut = "signout" // a developer signed out
)

// changed wakes this process's streams of a backend and tells the other processes.
func (s *Server) changed(ctx context.Context, name string) {
	s.bus.notify(name)
	s.announce(ctx, noticeBackend, name)
}

// signedOut wakes this process's session watches and tells the other processes.
func (s *Server) signedOut(ctx context.Context) {
	s.signOuts.notify()
	s.announce(ctx, noticeSignOut, "")
}

func (s *Server) announce(ctx context.Context, kind, name string) {
	if err := s.store.Notify(context.WithoutCancel(ctx), s.instance+" "+kind+" "+name); err != nil {
		// The others still see the change: their streams re-read on their keep-alive and the
		// leader on its periodic pass.
		s.log.Warn("announce change", "kind", kind, "backend", name, "err", err)
	}
}

// onNotice handles another process's notice; "" means notices may have been missed.
func (s *Server) onNotice(topic string) {
	from, rest, _ := strings.Cut(topic, " ")
	kind, name, _ := strings.Cut(rest, " ")
	switch {
	case topic == "":
		s.bus.notifyAll()
		s.signOuts.notify()
		s.reconciler.kick()
	case from == s.instance:
	case kind == noticeBackend:
		s.bus.notify(name)
		s.reconciler.kick()
	case kind == noticeSignOut:
		s.signOuts.notify()
	}
}
