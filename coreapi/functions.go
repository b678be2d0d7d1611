package coreapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/functions"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/net/http/httpguts"
)

// functionSees is how a failed ctx.db call looks to the function: the status, code and message
// the HTTP API would answer with.
func functionSees(err error) (int, string, string) {
	ae := toAPIError(err)
	return ae.Status, ae.Code, ae.Message
}

// handleCallFunction runs ANY /fn/:name[/*] through the function's onRequest, for the caller
// the request signs in (anonymous when it does not).
func (s *Server) handleCallFunction(c echo.Context) error {
	req, err := functionRequest(c)
	if err != nil {
		return err
	}
	out, err := s.functions.Call(c.Request().Context(), c.Param("name"), req, callerOf(c))
	if err != nil {
		return err
	}
	a, err := functions.Answer(out)
	if err != nil {
		return err
	}
	return writeFunctionAnswer(c, a)
}

// functionRequest is req as onRequest gets it: query and headers with their first values,
// names of headers in lower case, without the cookies and the API key (the session they carry
// is ctx.user already), and the body as JSON when it is JSON, as text otherwise.
func functionRequest(c echo.Context) (functions.Request, error) {
	r := c.Request()
	req := functions.Request{Method: r.Method, Query: map[string]string{}, Headers: map[string]string{}}
	if rest := c.Param("*"); rest != "" {
		req.Path = "/" + rest
	}
	for k, v := range r.URL.Query() {
		req.Query[k] = v[0]
	}
	for k, v := range r.Header {
		k = strings.ToLower(k)
		if k == "cookie" || k == "x-api-key" {
			continue
		}
		req.Headers[k] = v[0]
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return req, err
	}
	body, err := functionBody(r.Header.Get(echo.HeaderContentType), raw)
	req.Body = body
	return req, err
}

// functionBody is a request body as onRequest sees it: null when empty, the JSON value when
// the body says it is JSON, else a string of the text; a body that is neither is refused.
func functionBody(contentType string, raw []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null"), nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == echo.MIMEApplicationJSON || strings.HasSuffix(mt, "+json") {
		// JavaScript reads numbers as doubles: a number beyond them is refused here, as the
		// document routes refuse it, rather than failing inside the function.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, httpapi.BadRequest("invalid_json", "the body says it is JSON but is not valid JSON, or has a number beyond a double's range")
		}
		return raw, nil
	}
	if !utf8.Valid(raw) {
		return nil, httpapi.NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "a function takes a JSON or text body")
	}
	b, _ := json.Marshal(string(raw))
	return b, nil
}

// writeFunctionAnswer sends what a function answered: a string body as it is when the function
// set its Content-Type, anything else as JSON.
func writeFunctionAnswer(c echo.Context, a functions.Answered) error {
	h := c.Response().Header()
	for k, v := range a.Headers {
		h.Set(k, v)
	}
	if a.Body == nil {
		return c.NoContent(a.Status)
	}
	var text string
	if ct := a.Headers["Content-Type"]; ct != "" && json.Unmarshal(a.Body, &text) == nil {
		return c.Blob(a.Status, ct, []byte(text))
	}
	return c.JSONBlob(a.Status, a.Body)
}

// functionListing is a function as the list shows it: no source, no env.
type functionListing struct {
	Name        string   `json:"name"`
	Version     int64    `json:"version"`
	UpdatedAt   string   `json:"updatedAt"`
	Collections []string `json:"collections"`
	Handlers    []string `json:"handlers"`
	TimeoutMS   int64    `json:"timeoutMs"`
}

func (s *Server) handleListFunctions(c echo.Context) error {
	fns, err := s.data.Functions(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]functionListing, len(fns))
	for i, f := range fns {
		items[i] = functionListing{Name: f.Name, Version: f.Version, UpdatedAt: f.UpdatedAt, Collections: f.Collections, Handlers: f.Handlers, TimeoutMS: f.TimeoutMS}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleGetFunction(c echo.Context) error {
	fn, err := s.data.Function(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, fn)
}

// handleDeployFunction is PUT /admin/functions/:name: a new version, checked before it is
// stored, serving every replica within two seconds.
func (s *Server) handleDeployFunction(c echo.Context) error {
	var d core.FunctionDeploy
	if err := httpapi.DecodeJSON(c, &d); err != nil {
		return err
	}
	fn, err := s.functions.Deploy(c.Request().Context(), c.Param("name"), d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": fn.Name, "version": fn.Version, "updatedAt": fn.UpdatedAt, "handlers": fn.Handlers})
}

func (s *Server) handleDeleteFunction(c echo.Context) error {
	if err := s.functions.Delete(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

var functionLogParams = map[string]bool{"tail": true, "after": true}

// handleFunctionLogs is GET /admin/functions/:name/logs?tail=N&after=ID: the last lines,
// oldest first; a reader following them asks for those after the last it has.
func (s *Server) handleFunctionLogs(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		if !functionLogParams[k] {
			return httpapi.BadRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use tail, after)", k))
		}
	}
	tail, err := intParam(q, "tail", core.DefaultFunctionTail, 1, core.MaxFunctionLogs)
	if err != nil {
		return err
	}
	var after bson.ObjectID
	if raw := q.Get("after"); raw != "" {
		if after, err = bson.ObjectIDFromHex(raw); err != nil {
			return httpapi.BadRequest("invalid_query", "after is the id of a log line")
		}
	}
	ctx := c.Request().Context()
	fn, err := s.data.Function(ctx, c.Param("name"))
	if err != nil {
		return err
	}
	lines, err := s.data.FunctionLogs(ctx, fn, tail, after)
	if err != nil {
		return err
	}
	if lines == nil {
		lines = []core.FunctionLog{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": lines})
}

// invokeRequest is what the panel sends to try a function.
type invokeRequest struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body"`
}

// handleInvokeFunction is POST /admin/functions/:name/invoke: onRequest run as the operator
// (ctx.user null), answered with what a client would get and how long it took.
func (s *Server) handleInvokeFunction(c echo.Context) error {
	var in invokeRequest
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Method == "" {
		in.Method = http.MethodPost
	}
	if !httpguts.ValidHeaderFieldName(in.Method) {
		return httpapi.BadRequest("invalid_request", "method must be an HTTP method such as GET or POST")
	}
	if in.Path != "" && !strings.HasPrefix(in.Path, "/") {
		in.Path = "/" + in.Path
	}
	if len(in.Body) == 0 {
		in.Body = json.RawMessage("null")
	}
	req := functions.Request{Method: strings.ToUpper(in.Method), Path: in.Path, Query: map[string]string{},
		Headers: map[string]string{"content-type": echo.MIMEApplicationJSON}, Body: in.Body}
	start := time.Now()
	out, err := s.functions.Call(c.Request().Context(), c.Param("name"), req, core.AdminCaller)
	if err != nil {
		return err
	}
	a, err := functions.Answer(out)
	if err != nil {
		return err
	}
	body := a.Body
	if body == nil {
		body = json.RawMessage("null")
	}
	return c.JSON(http.StatusOK, map[string]any{"status": a.Status, "headers": a.Headers, "body": body,
		"durationMs": time.Since(start).Milliseconds()})
}
