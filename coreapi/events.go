package coreapi

import (
	"encoding/json"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/ephemeral"
)

// receiveEvents delivers every replica's events (see core.Event) to this replica's
// connections until the subscription closes.
func (s *Server) receiveEvents(sub *ephemeral.Subscription) {
	for payload := range sub.C {
		var ev core.Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			s.log.Warn("undecodable event", "err", err)
			continue
		}
		if ev.Kind == core.KindSession && ev.Owner != "" {
			// A user was deleted: forget it before closing its connections, so a websocket
			// handshake that misses the closing finds the user gone (see handleWS).
			s.data.ForgetUser(ev.Owner)
		}
		if ev.Kind == core.KindFunction {
			// Read off this loop, so a slow database does not hold up the broadcasts; each
			// read takes what is stored then, and an older version never replaces a newer.
			go func(name string) {
				if err := s.functions.Reload(s.lifetime, name); err != nil && s.lifetime.Err() == nil {
					s.log.Warn("reload function", "function", name, "err", err)
				}
			}(ev.Collection)
			continue
		}
		if ev.Kind == core.KindRestore {
			go s.restoreEvent(ev)
			continue
		}
		if ev.Kind == core.KindSettings {
			select {
			case s.settingsKick <- struct{}{}:
			default:
			}
			continue
		}
		s.hub.deliver(ev)
	}
}
