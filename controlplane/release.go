package controlplane

import (
	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
)

// A release is the API image every backend is to run (runtime.Released; the swarm runtime's
// BACKPACK_API_IMAGE). A control plane started with a new one re-applies every backend (see
// reconciler.resume), which rolls each API start-first; each backend records the image it
// became ready with, so any control plane shows how far the release has reached.

// releaseImage is the API image of the present release, "" with a runtime that runs no images.
func (s *Server) releaseImage() string {
	if r, ok := s.runtime.(runtime.Released); ok {
		return r.APIImage()
	}
	return ""
}

// upgrading reports whether a backend that runs has yet to run the present release.
func (s *Server) upgrading(b store.Backend) bool {
	image := s.releaseImage()
	return image != "" && b.Desired == store.DesiredRunning &&
		(b.State == store.StateRunning || b.State == store.StateDegraded) && b.APIImage != image
}
