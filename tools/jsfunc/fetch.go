package jsfunc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// fetch limits.
const (
	fetchTimeout   = 10 * time.Second
	maxFetchBody   = 5 << 20
	maxFetchRedirs = 5
)

// fetchClient performs every ctx.fetch of a worker.
var fetchClient = &http.Client{Timeout: fetchTimeout}

// fetchScope is what ctx.fetch may reach during one invocation, and the context that ends its
// requests when the invocation ends or times out.
type fetchScope struct {
	hosts  []string
	ctx    context.Context
	cancel context.CancelFunc
}

func newFetchScope(hosts []string) *fetchScope {
	ctx, cancel := context.WithCancel(context.Background())
	lower := make([]string, len(hosts))
	for i, h := range hosts {
		lower[i] = strings.ToLower(h)
	}
	return &fetchScope{hosts: lower, ctx: ctx, cancel: cancel}
}

// check refuses a URL that is not http(s) to an allowed host (its host name, or host:port).
func (s *fetchScope) check(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("fetch: only http and https URLs are allowed, not %q", u.Scheme)
	}
	if u.Hostname() == "" || (!slices.Contains(s.hosts, strings.ToLower(u.Hostname())) && !slices.Contains(s.hosts, strings.ToLower(u.Host))) {
		return fmt.Errorf("fetch: host %q is not in the function's allowed hosts", u.Host)
	}
	return nil
}

// fetchRequest is what the JS code asked for.
type fetchRequest struct {
	method  string
	url     *url.URL
	headers map[string]string
	body    *string
}

// fetchFunc builds ctx.fetch(url, init): the request runs synchronously and the returned Promise
// is already settled (there is no event loop). A URL that is not allowed throws at once.
func (rt *jsRuntime) fetchFunc(inv *invState) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		rt.checkLive(inv)
		req := rt.fetchRequestOf(inv.fetch, c)
		promise, resolve, reject := rt.vm.NewPromise()
		status, header, body, err := inv.fetch.do(req)
		if err != nil {
			obj, nerr := rt.vm.New(rt.errorCtor, rt.vm.ToValue(err.Error()))
			if nerr != nil {
				panic(nerr)
			}
			_ = reject(obj)
		} else {
			_ = resolve(rt.fetchResponse(status, header, body))
		}
		return rt.vm.ToValue(promise)
	}
}

// fetchRequestOf reads fetch's arguments, throwing a TypeError for a bad or disallowed URL.
func (rt *jsRuntime) fetchRequestOf(scope *fetchScope, c goja.FunctionCall) *fetchRequest {
	u, err := url.Parse(c.Argument(0).String())
	if err != nil {
		panic(rt.vm.NewTypeError("fetch: invalid URL: %v", err))
	}
	if err := scope.check(u); err != nil {
		panic(rt.vm.NewTypeError(err.Error()))
	}
	req := &fetchRequest{method: http.MethodGet, url: u, headers: map[string]string{}}
	init, ok := c.Argument(1).(*goja.Object)
	if !ok {
		return req
	}
	if m := init.Get("method"); m != nil && !goja.IsUndefined(m) {
		req.method = strings.ToUpper(m.String())
	}
	if h, ok := init.Get("headers").(*goja.Object); ok {
		for _, k := range h.Keys() {
			req.headers[k] = h.Get(k).String()
		}
	}
	if b := init.Get("body"); b != nil && !goja.IsUndefined(b) && !goja.IsNull(b) {
		s := b.String()
		if !isString(b) {
			s = string(rt.argJSON(b))
		}
		if len(s) > maxFetchBody {
			panic(rt.vm.NewTypeError("fetch: the request body is over %d bytes", maxFetchBody))
		}
		req.body = &s
	}
	return req
}

// do performs a request, following redirects only to allowed hosts.
func (s *fetchScope) do(r *fetchRequest) (int, http.Header, []byte, error) {
	var body io.Reader
	if r.body != nil {
		body = strings.NewReader(*r.body)
	}
	req, err := http.NewRequestWithContext(s.ctx, r.method, r.url.String(), body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("fetch: %w", err)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	client := *fetchClient
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if len(via) > maxFetchRedirs {
			return errors.New("too many redirects")
		}
		return s.check(next.URL)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("fetch failed: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("fetch: read the response: %w", err)
	}
	if len(data) > maxFetchBody {
		return 0, nil, nil, fmt.Errorf("fetch: the response body is over %d bytes", maxFetchBody)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// fetchResponse builds the JS response: {status, ok, headers, text(), json()}.
func (rt *jsRuntime) fetchResponse(status int, header http.Header, body []byte) *goja.Object {
	vm := rt.vm
	res := vm.NewObject()
	headers := vm.NewObject()
	for k, v := range header {
		_ = headers.Set(strings.ToLower(k), strings.Join(v, ", "))
	}
	text := string(body)
	_ = res.Set("status", status)
	_ = res.Set("ok", status >= 200 && status < 300)
	_ = res.Set("headers", headers)
	_ = res.Set("text", func(goja.FunctionCall) goja.Value {
		p, resolve, _ := vm.NewPromise()
		_ = resolve(text)
		return vm.ToValue(p)
	})
	_ = res.Set("json", func(goja.FunctionCall) goja.Value {
		p, resolve, reject := vm.NewPromise()
		v, err := rt.parse(goja.Undefined(), vm.ToValue(text))
		var ex *goja.Exception
		switch {
		case err == nil:
			_ = resolve(v)
		case errors.As(err, &ex):
			_ = reject(ex.Value())
		default:
			panic(err)
		}
		return vm.ToValue(p)
	})
	return res
}
