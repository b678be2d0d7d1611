package sdk_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// deployFunction puts a function on the backend through its admin port, as the panel does.
func (e *browserEnv) deployFunction(name, source string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"source": source})
	req := httptest.NewRequest(http.MethodPut, "/admin/functions/"+name, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+browserAdminToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.api.AdminHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("deploy %s = %d %s", name, rec.Code, rec.Body)
	}
}

// echoFunction answers with what it was sent and who sent it, and throws an HttpError on the
// path "guarded" or for a body with "guarded".
const echoFunction = `function onRequest(req, ctx) {
  if (req.path === '/guarded' || (req.body && req.body.guarded)) throw new ctx.HttpError(402, 'payment_required', 'pay first');
  return { status: 201, body: { method: req.method, got: req.body, query: req.query, user: ctx.user ? ctx.user.email : null } };
}
`

func TestSDKFunctionsInBrowser(t *testing.T) {
	env := newBrowserEnv(t, "shop-be.localhost")
	ctx := env.ctx
	env.deployFunction("echo", echoFunction)
	env.ok(ctx, `await sdk.auth.register('ann@example.com', 'password123'); await sdk.auth.login('ann@example.com', 'password123'); return {}`)

	// Over HTTP: POST with a body, GET without, the session along; answers parsed as JSON.
	got := env.ok(ctx, `
		const posted = await sdk.functions.call('echo', { n: 1, s: 'x' });
		const fetched = await sdk.functions.call('echo', undefined, { query: { q: 'a&b' } });
		const put = await sdk.functions.call('echo', [1, 2], { method: 'PUT', path: 'items/42' });
		return { posted, fetched: [fetched.method, fetched.got ?? null, fetched.query.q, fetched.user], put: [put.method, put.got] };`)
	want := `{"fetched":["GET",null,"a\u0026b","ann@example.com"],"posted":{"got":{"n":1,"s":"x"},"method":"POST","query":{},"user":"ann@example.com"},"put":["PUT",[1,2]]}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("functions.call: %s\nwant %s", b, want)
	}

	// Errors: an HttpError's status and code, an unknown function, a path the SDK refuses.
	got = env.ok(ctx, `
		const codes = {};
		for (const [key, call] of Object.entries({
			guarded: () => sdk.functions.call('echo', {}, { path: 'guarded' }),
			missing: () => sdk.functions.call('nope'),
			dotdot: () => sdk.functions.call('echo', undefined, { path: '../auth/me' }),
		})) {
			try { await call(); codes[key] = 'resolved'; } catch (e) { codes[key] = [e instanceof BackpackError, e.status, e.code]; }
		}
		return codes;`)
	want = `{"dotdot":[true,0,"invalid_argument"],"guarded":[true,402,"payment_required"],"missing":[true,404,"function_not_found"]}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("functions.call errors: %s\nwant %s", b, want)
	}

	// Over the websocket: the reply's response, and the function's error code.
	got = env.ok(ctx, `
		const conn = sdk.ws();
		const answer = await conn.actions.call('echo', { via: 'ws' });
		const codes = [];
		for (const [name, payload] of [['echo', { guarded: true }], ['nope', {}]]) {
			try { await conn.actions.call(name, payload); codes.push('resolved'); } catch (e) { codes.push(e instanceof BackpackError && e.code); }
		}
		return { got: answer.got, user: answer.user, codes };`)
	want = `{"codes":["payment_required","function_not_found"],"got":{"via":"ws"},"user":"ann@example.com"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("websocket call: %s\nwant %s", b, want)
	}
}
