package admin_test

import (
	"archive/zip"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// siteZip writes a zip holding one index.html whose page says body, and returns its path.
func siteZip(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("index.html")
	if err == nil {
		_, err = io.WriteString(w, "<!doctype html><title>shop</title><h1>"+body+"</h1>\n")
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// get sends a GET to http://HOST:PORT/PATH with the given headers and returns the status and
// body, whatever the status.
func (c *client) get(host, path string, headers map[string]string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+host+":"+c.p.port+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("GET %s%s: %v", host, path, err)
	}
	return res.StatusCode, string(data)
}

// siteServes waits until the backend's site answers its front page with a page containing want.
func (c *client) siteServes(name, want string) {
	c.t.Helper()
	var status int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if status, body = c.get(name+".localhost", "/", nil); status == http.StatusOK && strings.Contains(body, want) {
			return
		}
	}
	c.t.Fatalf("the site of %s answers %d %q, want a page with %q", name, status, body, want)
}

// upload chooses a file in the Site tab's file input and submits the form.
func upload(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.SetUploadFiles(chromedp.CSS(`form.upload input[type=file]`), []string{path}),
		click(`form.upload button[type=submit]`))
}

// checkNarrow narrows the tab to 375 px, checks that the page fits that width (tables and logs
// scroll inside their own box) and that every control has a label, and saves NAME-375.png.
func (p *panel) checkNarrow(ctx context.Context, page, shot string) {
	p.t.Helper()
	p.run(ctx, "narrow viewport", chromedp.EmulateViewport(375, 812))
	var width int
	p.eval(ctx, `document.documentElement.scrollWidth`, &width)
	if width > 375 {
		p.t.Errorf("%s is %d px wide at 375 px", page, width)
	}
	p.expectLabelled(ctx, page)
	p.screenshot(ctx, shot+"-375")
}

// TestSite: a backend without a release says so; a file that is not a zip is refused in plain
// words next to the input; a zip uploads with its progress up to 100% and becomes the live
// release, which the site serves; a second release replaces it, and rolling back (after a
// confirmation) brings the first one back, on the page and on the site.
func TestSite(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	p.open(ctx, "/backends/shop/site")
	p.waitText(ctx, ".site-current", "No release yet")
	var disabled bool
	p.eval(ctx, `document.querySelector('button.rollback').disabled`, &disabled)
	if !disabled {
		t.Error("Roll back is enabled without any release")
	}

	dir := t.TempDir()
	notZip := filepath.Join(dir, "notes.zip")
	if err := os.WriteFile(notZip, []byte("just some notes, not an archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.run(ctx, "upload a file that is not a zip", upload(notZip))
	p.waitText(ctx, "form.upload .field-error", "cannot be published: the upload is not a valid zip archive")

	currentID := `(document.querySelector('.site-current .release-id') || {}).textContent || ''`
	p.run(ctx, "upload v1", upload(siteZip(t, dir, "v1.zip", "v1")))
	p.waitText(ctx, "form.upload [role=status]", "It is live now")
	p.waitText(ctx, ".upload-progress .percent", "100%")
	var progress float64
	p.eval(ctx, `document.querySelector('.upload-progress progress').value`, &progress)
	if progress != 100 {
		t.Errorf("the progress bar stopped at %v", progress)
	}
	var v1 string
	p.eval(ctx, currentID, &v1)
	if v1 == "" {
		t.Fatal("no live release after the upload")
	}
	p.waitText(ctx, `tr[data-release="`+v1+`"]`, "Live")
	var hidden bool
	p.eval(ctx, `document.querySelector('form.upload .field-error').hidden`, &hidden)
	if !hidden {
		t.Error("the earlier upload's error is still shown")
	}

	p.run(ctx, "upload v2", upload(siteZip(t, dir, "v2.zip", "v2")))
	p.eventually(ctx, "v2 to be live", `!['', '`+v1+`'].includes(`+currentID+`)`)
	var v2 string
	p.eval(ctx, currentID, &v2)
	p.waitText(ctx, `tr[data-release="`+v2+`"]`, "Live")
	var rows int
	p.eval(ctx, `document.querySelectorAll('table.release-list tbody tr').length`, &rows)
	if rows != 2 {
		t.Errorf("%d releases listed, want 2", rows)
	}
	c.siteServes("shop", "v2")

	p.run(ctx, "roll back", click(`button.rollback`), click(`dialog[open] button[value=ok]`))
	p.eventually(ctx, "v1 to be live again", `(`+currentID+`) === '`+v1+`'`)
	p.waitText(ctx, `tr[data-release="`+v1+`"]`, "Live")
	c.siteServes("shop", "v1")
	// v1 is the oldest release: there is nothing earlier to go back to.
	p.eval(ctx, `document.querySelector('button.rollback').disabled`, &disabled)
	if !disabled {
		t.Error("Roll back is enabled on the oldest release")
	}
	p.screenshot(ctx, "site")
	p.checkNarrow(ctx, "/backends/shop/site", "site")
}

// TestLogs: the Logs tab shows the API's log lines, follows new ones without a reload, switches
// to the site's access log when the service picker says "web", wraps long lines on request, and
// says where a log ends when not following.
func TestLogs(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	key := map[string]string{"X-API-Key": c.backend("shop")["apiKey"].(string)}
	c.get("shop-be.localhost", "/probe-before", key)

	p.open(ctx, "/backends/shop/logs")
	p.waitText(ctx, "pre.logs", `"path":"/probe-before"`)
	p.waitText(ctx, ".log-status", "Following")
	c.get("shop-be.localhost", "/probe-followed", key)
	p.waitText(ctx, "pre.logs", `"path":"/probe-followed"`)

	var picked bool
	p.eval(ctx, `(() => { const s = document.querySelector('select[name=service]'); s.value = 'web'; s.dispatchEvent(new Event('change')); return s.value === 'web'; })()`, &picked)
	if !picked {
		t.Fatal("the service picker has no web")
	}
	p.waitText(ctx, ".log-status", "Following")
	c.get("shop.localhost", "/page-seen", nil)
	p.waitText(ctx, "pre.logs", `"path":"/page-seen"`)
	var mixed bool
	p.eval(ctx, `document.querySelector('pre.logs').textContent.includes('/probe-followed')`, &mixed)
	if mixed {
		t.Error("the web log still shows the API's lines")
	}
	p.screenshot(ctx, "logs")
	p.run(ctx, "wrap long lines", click(`input[name=wrap]`))
	p.checkNarrow(ctx, "/backends/shop/logs", "logs")
	var sideways bool
	p.eval(ctx, `(() => { const e = document.querySelector('pre.logs'); return e.scrollWidth > e.clientWidth; })()`, &sideways)
	if sideways {
		t.Error("wrapped log lines still scroll sideways")
	}

	p.run(ctx, "stop following", click(`input[name=follow]`))
	p.waitText(ctx, ".log-status", "End of log.")
	p.waitText(ctx, "pre.logs", `"path":"/page-seen"`)
}

// TestDeleteBackend: the Delete button works only once the backend's exact name is typed;
// deleting with the data kept shows the teardown on the overview until it says "Deleted", and
// its Logs tab says it is deleted; the deleted backend's Delete tab offers only a purge (sent
// with Enter), after which the page says the data was purged and the backend is gone.
func TestDeleteBackend(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	p.open(ctx, "/backends/shop/delete")
	p.waitText(ctx, "legend", "Its data")
	var keep bool
	p.eval(ctx, `document.querySelector('input[name=data][value=keep]').checked`, &keep)
	if !keep {
		t.Error("keeping the data is not the default")
	}
	disabled := `document.querySelector('form.delete-form button[type=submit]').disabled`
	for _, typed := range []string{"sho", "Shop", "shop ", "shops"} {
		p.run(ctx, "type "+typed, fill(`input[name=confirm]`, typed))
		var off bool
		p.eval(ctx, disabled, &off)
		if !off {
			t.Errorf("Delete is enabled for %q", typed)
		}
	}
	p.run(ctx, "type the name", fill(`input[name=confirm]`, "shop"))
	p.eventually(ctx, "Delete to be enabled", "!"+disabled)
	p.checkNarrow(ctx, "/backends/shop/delete", "delete")
	p.run(ctx, "delete", click(`form.delete-form button[type=submit]`))
	p.eventually(ctx, "the overview", `location.pathname === '/backends/shop'`)
	p.waitText(ctx, ".outcome", "Deleted. Its data is kept")
	p.waitText(ctx, ".steps", "delete requested")
	// Nothing runs, so there are no logs to read; the Logs tab says why.
	p.open(ctx, "/backends/shop/logs")
	p.waitText(ctx, ".tab-panel .error", "The backend is deleted")

	p.open(ctx, "/backends/shop/delete")
	p.waitText(ctx, "form.delete-form", "shop is deleted")
	var radios int
	p.eval(ctx, `document.querySelectorAll('input[name=data]').length`, &radios)
	if radios != 0 {
		t.Error("a deleted backend is offered to keep its data again")
	}
	// Enter in the name field deletes, as the button would.
	p.run(ctx, "purge by keyboard", fill(`input[name=confirm]`, "shop"), chromedp.KeyEvent("\r"))
	p.waitText(ctx, ".tab-panel", "was deleted and its data purged")
	c.do(http.MethodGet, "", "/api/backends/shop", nil, nil, http.StatusNotFound, nil)
	p.open(ctx, "/")
	p.waitText(ctx, "main", "No backends yet")
}

// TestSettingsAndInvites: the operator switches registration to invite only; an invite made for
// bob shows its link once, and bob, signing up in another browser through that link, becomes a
// developer without Settings (the page says it is for the operator); the operator then sees the
// invite used, revokes another one and sees both accounts; with registration closed a sign-up
// is refused in plain words.
func TestSettingsAndInvites(t *testing.T) {
	p := startPanel(t)
	ctx := p.browser
	p.signUp(ctx, "ann@example.com")
	p.waitText(ctx, "header nav", "Settings")
	p.open(ctx, "/settings")
	p.eventually(ctx, "the current mode", `document.querySelector('input[name=registration][value=open]').checked`)
	p.run(ctx, "invite only", click(`input[name=registration][value=invite]`), click(`form.registration button[type=submit]`))
	p.waitText(ctx, "form.registration [role=status]", "Saved")
	c := p.newClient()
	c.signIn("ann@example.com")
	var settings struct{ Registration string }
	c.do(http.MethodGet, "", "/api/settings", nil, nil, http.StatusOK, &settings)
	if settings.Registration != "invite" {
		t.Fatalf("registration is %q, want invite", settings.Registration)
	}

	newInvite := func(email string) (id, link string) {
		t.Helper()
		var before string
		p.eval(ctx, `document.querySelector('.invite-new').dataset.invite || ''`, &before)
		p.run(ctx, "invite "+email, fill(`input[name=invite-email]`, email), click(`form.invite-form button[type=submit]`))
		p.eventually(ctx, "the new invite", `(document.querySelector('.invite-new').dataset.invite || '') !== '`+before+`'`)
		p.waitText(ctx, ".invite-new", "shown only this once")
		p.eval(ctx, `document.querySelector('.invite-new').dataset.invite`, &id)
		p.eval(ctx, `document.querySelector('.invite-link').textContent`, &link)
		p.waitText(ctx, `tr[data-invite="`+id+`"]`, "active")
		return id, link
	}
	bobInvite, link := newInvite("bob@example.com")
	if !strings.HasPrefix(link, p.url+"/signup?invite=") {
		t.Fatalf("the invite link is %q", link)
	}
	other, _ := newInvite("")

	bob, cancel := chromedp.NewContext(p.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(bob); err != nil {
		t.Fatal(err)
	}
	p.listen(bob, "bob")
	p.run(bob, "open the invite link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("main h1")))
	code := strings.TrimPrefix(link, p.url+"/signup?invite=")
	p.eventually(bob, "the invite code filled in", `document.querySelector('input[name=invite]').value === '`+code+`'`)
	p.run(bob, "sign up as bob", fill(`input[name=email]`, "bob@example.com"), fill(`input[name=password]`, "a long password"),
		click(`form button[type=submit]`))
	p.waitText(bob, "main h1", "Backends")
	var operator bool
	p.eval(bob, `[...document.querySelectorAll('header nav a')].some((a) => a.textContent === 'Settings') || document.querySelector('.account').textContent.includes('operator')`, &operator)
	if operator {
		t.Error("bob is shown as the operator")
	}
	p.open(bob, "/settings")
	p.waitText(bob, "main h1", "Operator only")

	p.open(ctx, "/settings")
	p.waitText(ctx, `tr[data-invite="`+bobInvite+`"]`, "used")
	p.run(ctx, "revoke", click(`tr[data-invite="`+other+`"] button.revoke`), click(`dialog[open] button[value=ok]`))
	p.waitText(ctx, ".invite-list-status", "Revoked the invite for anyone")
	p.eventually(ctx, "the revoked invite to leave the list", `!document.querySelector('tr[data-invite="`+other+`"]')`)
	p.waitText(ctx, "table.developers", "ann@example.com")
	p.waitText(ctx, "table.developers", "bob@example.com")
	newInvite("carol@example.com")
	p.screenshot(ctx, "settings")
	p.checkNarrow(ctx, "/settings", "settings")

	p.run(ctx, "close registration", click(`input[name=registration][value=closed]`), click(`form.registration button[type=submit]`))
	p.waitText(ctx, "form.registration [role=status]", "Saved. Registration is now closed")
	p.run(bob, "sign bob out", click(`.account button`))
	p.waitText(bob, "main h1", "Sign in")
	p.open(bob, "/signup")
	p.run(bob, "sign up as carol", fill(`input[name=email]`, "carol@example.com"), fill(`input[name=password]`, "a long password"),
		click(`form button[type=submit]`))
	p.waitText(bob, ".error", "Registration is closed")
}
