package controlplane

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// streamBackends keeps a listing of the caller's backends live: the admin panel's backends page
// follows it instead of polling. It sends the whole listing first (event `backends`), then each
// backend that appears or changes (event `backend`) and each that is gone (event `removed`), for
// as long as the client stays and its session lasts.
func (s *Server) streamBackends(c echo.Context) error {
	ctx, cancel := s.sessionBound(c)
	defer cancel()
	defer untilGoingAway(c, cancel)()
	caller := developer(c)
	wake := s.bus.changedAny()
	// The first listing is read under the request's own context: a server that is stopping
	// (another control plane takes over) still answers it, then ends the stream, and the
	// panel's EventSource reconnects.
	list, err := s.visibleBackends(c.Request().Context(), caller)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data []byte) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
	}
	all, _ := json.Marshal(map[string]any{"backends": list, "apiImage": s.releaseImage()})
	send("backends", all)
	w.Flush()
	// seen holds each listed backend as last sent, to send only what changed.
	seen := make(map[string]string, len(list))
	for _, b := range list {
		data, _ := json.Marshal(b)
		seen[b.Name] = string(data)
	}
	tick := time.NewTicker(s.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			w.Flush()
			continue
		case <-wake:
		}
		wake = s.bus.changedAny()
		list, err := s.visibleBackends(ctx, caller)
		if err != nil {
			return nil
		}
		now := make(map[string]string, len(list))
		for _, b := range list {
			data, _ := json.Marshal(b)
			now[b.Name] = string(data)
			if now[b.Name] != seen[b.Name] {
				send("backend", data)
			}
		}
		for name := range seen {
			if _, ok := now[name]; !ok {
				gone, _ := json.Marshal(map[string]string{"name": name})
				send("removed", gone)
			}
		}
		seen = now
		w.Flush()
	}
}
