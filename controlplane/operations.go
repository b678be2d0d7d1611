package controlplane

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// uploadSite forwards a zip (sent as the raw body, or as the "file" field of a multipart form
// from a browser) to the backend's admin port, which validates and publishes it.
func (s *Server) uploadSite(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	req := c.Request()
	if req.ContentLength > s.cfg.MaxSiteBytes {
		return &http.MaxBytesError{Limit: s.cfg.MaxSiteBytes}
	}
	body, length := io.Reader(http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxSiteBytes)), req.ContentLength
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	switch mt {
	case "application/zip", "application/x-zip-compressed", "application/octet-stream":
	case "multipart/form-data":
		req.Body = http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxSiteBytes)
		mr, err := req.MultipartReader()
		if err != nil {
			return httpapi.BadRequest("invalid_form", "the multipart form could not be read")
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return err
				}
				return httpapi.BadRequest("invalid_form", `send the zip in a form field named "file"`)
			}
			if part.FormName() == "file" {
				body, length = part, -1
				break
			}
		}
	default:
		return httpapi.NewError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the site as a zip archive (Content-Type: application/zip) or a multipart form with a file field")
	}
	upload := &readErr{r: body}
	resp, err := s.callAdmin(req.Context(), b, http.MethodPut, "/admin/site", "application/zip", upload, length)
	if errors.Is(err, errUnreachable) && upload.err != nil {
		// The forward failed because the client's body did (a form cut short), not the backend.
		return httpapi.BadRequest("invalid_form", "the upload ended before it was complete")
	}
	if err != nil {
		return err
	}
	return relay(c, resp)
}

// readErr remembers the first error reading r other than its end.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// maxLogTail bounds ?tail=.
const maxLogTail = 10000

// streamLogs writes a service's log lines as text, then, with follow=true, new lines as they
// come until the client leaves.
func (s *Server) streamLogs(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	opts := runtime.LogOptions{Service: c.QueryParam("service"), Tail: 200}
	if opts.Service == "" {
		opts.Service = "api"
	}
	switch v := c.QueryParam("tail"); v {
	case "":
	case "all":
		opts.Tail = runtime.AllLines
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxLogTail {
			return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_query",
				Message: fmt.Sprintf("tail must be a number from 0 to %d, or all", maxLogTail), Details: map[string]any{"field": "tail"}}
		}
		opts.Tail = n
	}
	if opts.Follow, err = boolParam(c, "follow"); err != nil {
		return err
	}
	// A followed stream ends with the server; a control plane that is stopping (another takes
	// over) answers the tail without following, and lets it finish.
	bound := s.sessionBoundRequest
	if opts.Follow && s.lifetime.Err() == nil {
		bound = s.sessionBound
	} else {
		opts.Follow = false
	}
	ctx, cancel := bound(c)
	defer cancel()
	if opts.Follow {
		defer untilGoingAway(c, cancel)()
	}
	w := &lineFlusher{c: c}
	if opts.Follow {
		// A quiet service may write nothing for a long time; once the runtime has had time to
		// refuse the request, answer 200 so the client knows it is following.
		t := time.AfterFunc(followHeadersAfter, func() { _, _ = w.Write(nil) })
		defer t.Stop()
	}
	err = s.runtime.Logs(ctx, b.Name, opts, w)
	if !w.begun() {
		if errors.Is(err, runtime.ErrNotFound) {
			return errNotReady(b)
		}
		if err != nil {
			return err
		}
		_, _ = w.Write(nil)
	}
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "logs stream ended", "backend", b.Name, "err", err)
	}
	return nil
}

// lineFlusher sends the response headers on the first write (so errors before it still get the
// contract's error shape) and flushes after every write, so followed lines arrive as they come.
type lineFlusher struct {
	mu      sync.Mutex
	c       echo.Context
	started bool
}

// followHeadersAfter is when a followed log stream answers 200 even before its first line.
const followHeadersAfter = 300 * time.Millisecond

func (w *lineFlusher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		w.started = true
		h := w.c.Response().Header()
		h.Set(echo.HeaderContentType, "text/plain; charset=utf-8")
		h.Set(echo.HeaderCacheControl, "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.c.Response().WriteHeader(http.StatusOK)
	}
	n, err := w.c.Response().Write(p)
	w.c.Response().Flush()
	return n, err
}

func (w *lineFlusher) begun() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started
}
