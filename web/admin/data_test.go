package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The Data, Users and Files tabs of a backend page, against a real backend run by backpack dev.

// acceptConfirm checks the open confirmation dialog says text, accepts it and waits for it to close.
func (p *panel) acceptConfirm(ctx context.Context, text string) {
	p.t.Helper()
	p.waitText(ctx, "dialog[open]", text)
	p.run(ctx, "confirm", click(`dialog[open] button[value=ok]`))
	p.eventually(ctx, "the dialog to close", `!document.querySelector('dialog[open]')`)
}

// evalInt evaluates a number in the page.
func (p *panel) evalInt(ctx context.Context, expr string) int {
	p.t.Helper()
	var n int
	p.eval(ctx, expr, &n)
	return n
}

// isDisabled says whether the element matching sel is disabled.
func (p *panel) isDisabled(ctx context.Context, sel string) bool {
	p.t.Helper()
	var d bool
	p.eval(ctx, fmt.Sprintf(`document.querySelector(%q).disabled`, sel), &d)
	return d
}

// adminDocs lists a collection's documents through the admin proxy, as the client sees them.
func (c *client) adminDocs(collection string) []map[string]any {
	c.t.Helper()
	var docs []map[string]any
	c.do(http.MethodGet, "", "/api/backends/shop/admin/collections/"+collection+"/docs", nil, nil, http.StatusOK, &docs)
	return docs
}

// endUserUpload uploads a text file to a backend's public API as the end user the headers name,
// and returns the file's metadata.
func (c *client) endUserUpload(backend string, headers map[string]string, filename, content string) map[string]any {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="file"; filename="upload.txt"`},
		"Content-Type":        {"text/plain"},
	})
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = io.WriteString(part, content)
	_ = mw.WriteField("filename", filename)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, "http://"+backend+"-be.localhost:"+c.p.port+"/files", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("upload %s: %v", filename, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		c.t.Fatalf("upload %s = %d, want 201: %s", filename, res.StatusCode, data)
	}
	var meta map[string]any
	if err := json.Unmarshal(data, &meta); err != nil {
		c.t.Fatalf("upload %s: decode %s: %v", filename, data, err)
	}
	return meta
}

// TestDataBrowser: collections are created (the name checked as it is typed), given a rule and
// deleted after a confirmation; documents are created and replaced in the JSON editor, which
// refuses what is not a JSON object and says the API's errors in words; the table pages through
// 26 documents; a document is deleted after a confirmation.
func TestDataBrowser(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	p.open(ctx, "/backends/shop/data")
	p.waitText(ctx, ".collections", "No collections yet")

	// A collection: the name is checked as it is typed.
	const nameInput = `form.create-collection input[name=collection]`
	const create = `form.create-collection button[type=submit]`
	for _, bad := range []struct{ typed, says string }{{"1cars", "Start with a letter"}, {"car s", "Use only letters"}, {"files", "the API itself uses"}} {
		p.run(ctx, "type "+bad.typed, fill(nameInput, bad.typed))
		p.waitText(ctx, "form.create-collection .field-error", bad.says)
		if !p.isDisabled(ctx, create) {
			t.Errorf("Create collection is enabled for %q", bad.typed)
		}
	}
	p.run(ctx, "create cars", fill(nameInput, "cars"), click(create))
	p.waitText(ctx, "#collection-title", "cars")
	p.waitText(ctx, ".collections", "cars")
	p.eventually(ctx, "the address to name cars", `location.pathname === '/backends/shop/data/cars'`)
	p.waitText(ctx, ".documents-card", "No documents in cars yet")

	// Its rule.
	p.run(ctx, "rule owner", chromedp.SetValue(chromedp.CSS(`form.collection-rule select`), "owner"),
		click(`form.collection-rule button[type=submit]`))
	p.waitText(ctx, `form.collection-rule [role=status]`, "Rule saved: owner")
	var colls []struct{ Name, Rule string }
	c.do(http.MethodGet, "", "/api/backends/shop/admin/collections", nil, nil, http.StatusOK, &colls)
	if len(colls) != 1 || colls[0].Name != "cars" || colls[0].Rule != "owner" {
		t.Fatalf("collections = %+v, want cars with rule owner", colls)
	}
	p.waitText(ctx, `li[data-collection="cars"]`, "owner")

	// A document through the editor: what is not a JSON object cannot be saved.
	const editor = `.doc-editor textarea`
	const save = `.doc-editor button.save`
	p.run(ctx, "new document", click(`button.new-document`))
	p.waitText(ctx, ".doc-editor", "New document in cars")
	p.expectLabelled(ctx, "/backends/shop/data/cars")
	for _, bad := range []struct{ typed, says string }{
		{`{"make":`, "not valid JSON"}, {`[1, 2]`, "not an array"}, {`null`, "not null"}, {`{"_id": "x"}`, "Leave out _id"},
	} {
		p.run(ctx, "type "+bad.typed, fill(editor, bad.typed))
		p.waitText(ctx, ".doc-editor .field-error", bad.says)
		if !p.isDisabled(ctx, save) {
			t.Errorf("Save is enabled for %s", bad.typed)
		}
	}
	// What the browser cannot know, the API says, in words next to the editor.
	p.run(ctx, "type a bad field name", fill(editor, `{"$set": 1}`), click(save))
	p.waitText(ctx, ".doc-editor .error", "not allowed")
	p.run(ctx, "type a document", fill(editor, `{"make":"Saab","n":1}`), click(save))
	p.waitText(ctx, ".doc-editor .doc-note", "Created.")
	p.waitText(ctx, "table.documents", `"Saab"`)
	var id string
	p.eval(ctx, `document.querySelector('.doc-facts code').textContent`, &id)
	p.waitText(ctx, fmt.Sprintf(`tr[data-id=%q]`, id), `"Saab"`)

	// Replace it (PUT): the table shows the new value.
	p.run(ctx, "edit", fill(editor, `{"make":"Volvo","n":2}`), click(save))
	p.waitText(ctx, ".doc-editor .doc-note", "Saved.")
	p.waitText(ctx, fmt.Sprintf(`tr[data-id=%q]`, id), `"Volvo"`)
	docs := c.adminDocs("cars")
	if len(docs) != 1 || docs[0]["make"] != "Volvo" || docs[0]["n"] != 2.0 {
		t.Fatalf("documents = %v, want the one replaced with make Volvo, n 2", docs)
	}

	// Paging: 25 more documents, made elsewhere, reach the open page.
	for i := range 25 {
		c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/cars/docs", nil, map[string]any{"i": i}, http.StatusCreated, nil)
	}
	p.waitText(ctx, ".docs-pager .range", "1–20 of 26")
	p.waitText(ctx, `li[data-collection="cars"]`, "26 docs")
	if n := p.evalInt(ctx, `document.querySelectorAll('table.documents tbody tr').length`); n != 20 {
		t.Errorf("the first page has %d rows, want 20", n)
	}
	p.screenshot(ctx, "data-browser")
	p.run(ctx, "next page", click(`.docs-pager button.next`))
	p.waitText(ctx, ".docs-pager .range", "21–26 of 26")
	if n := p.evalInt(ctx, `document.querySelectorAll('table.documents tbody tr').length`); n != 6 {
		t.Errorf("the second page has %d rows, want 6", n)
	}
	if !p.isDisabled(ctx, `.docs-pager button.next`) {
		t.Error("Next is enabled on the last page")
	}
	// The oldest document, the edited one, comes last.
	p.waitText(ctx, fmt.Sprintf(`tr[data-id=%q]`, id), `"Volvo"`)

	// Delete it from its editor, after a confirmation.
	p.run(ctx, "open it", click(fmt.Sprintf(`tr[data-id=%q] button.open-doc`, id)))
	p.waitText(ctx, ".doc-editor h3", id)
	p.run(ctx, "delete it", click(`.doc-editor button.delete`))
	p.acceptConfirm(ctx, "for good")
	p.waitText(ctx, ".docs-pager .range", "21–25 of 25")
	p.eventually(ctx, "the document to leave the table", fmt.Sprintf(`!document.querySelector('tr[data-id=%q]')`, id))
	p.eventually(ctx, "the editor to close", `!document.querySelector('.doc-editor')`)

	// Delete the collection, after a confirmation saying it takes every document along.
	p.run(ctx, "delete cars", click(`button.delete-collection`))
	p.acceptConfirm(ctx, "all its documents")
	p.waitText(ctx, ".collections", "No collections yet")
	p.eventually(ctx, "the address to leave cars", `location.pathname === '/backends/shop/data'`)
	c.do(http.MethodGet, "", "/api/backends/shop/admin/collections", nil, nil, http.StatusOK, &colls)
	if len(colls) != 0 {
		t.Errorf("collections after the delete = %+v, want none", colls)
	}
}

// TestDataLiveTwoTabs: two tabs on the same collection follow the backend's change stream: a
// document an end user creates through the public API, and one created in the other tab's
// editor, appear in both without a reload, highlighted, and the collection's count follows.
// When the stream drops, the tab says so, reconnects once it can, and shows what changed
// meanwhile.
func TestDataLiveTwoTabs(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections", nil, map[string]string{"name": "cars"}, http.StatusCreated, nil)
	one, two := p.browser, p.tab()
	// Tab one keeps its websockets where the test can close them.
	if _, err := chromedp.Call(one, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__sockets = [];
		window.WebSocket = class extends window.WebSocket {
			constructor(...args) { super(...args); window.__sockets.push(this); }
		};`}); err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{one, two} {
		p.open(ctx, "/backends/shop/data/cars")
		p.waitText(ctx, ".live", "Live")
		p.waitText(ctx, ".documents-card", "No documents in cars yet")
	}

	bea := c.endUser("shop", "bea@example.com")
	c.do(http.MethodPost, "shop-be.localhost", "/cars", bea, map[string]string{"model": "from the app"}, http.StatusCreated, nil)
	for _, ctx := range []context.Context{one, two} {
		p.waitText(ctx, "table.documents", "from the app")
		p.waitText(ctx, "table.documents tr.fresh", "from the app")
		p.waitText(ctx, `li[data-collection="cars"]`, "1 doc")
	}

	p.run(one, "new document in tab one", click(`button.new-document`), fill(`.doc-editor textarea`, `{"model":"from tab one"}`),
		click(`.doc-editor button.save`))
	p.waitText(one, ".doc-editor .doc-note", "Created.")
	p.waitText(two, "table.documents", "from tab one")
	p.waitText(two, `li[data-collection="cars"]`, "2 docs")
	p.waitText(two, ".docs-pager .range", "1–2 of 2")

	// The stream drops and the network is gone: tab one says it is reconnecting, and once the
	// network is back it is live again with the document created meanwhile.
	offline := func(off bool) {
		t.Helper()
		_, err := chromedp.Call(one, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Call(one, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	offline(true)
	p.eval(one, `(window.__sockets.forEach((s) => s.close()), true)`, new(bool))
	p.waitText(one, ".live", "Reconnecting")
	c.do(http.MethodPost, "shop-be.localhost", "/cars", bea, map[string]string{"model": "while away"}, http.StatusCreated, nil)
	offline(false)
	p.waitText(one, ".live", "Live")
	p.waitText(one, "table.documents", "while away")
	p.waitText(one, `li[data-collection="cars"]`, "3 docs")
	if errs := p.console.Uncaught(); len(errs) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(errs, "\n"))
	}
}

// TestDataEscapes: markup in a document's values and field names is shown as text, never run or
// rendered, in the table and in the editor; and at 375 px the data tab has no page-wide
// horizontal scroll (wide tables scroll inside their frame).
func TestDataEscapes(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	const img = `<img src=x onerror=alert(1)>`
	const key = `<b onmouseover=alert(2)>bold</b>`
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections", nil, map[string]string{"name": "notes"}, http.StatusCreated, nil)
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/notes/docs", nil, map[string]any{
		"title": img, key: "x", "long": strings.Repeat("a-long-unbroken-value-", 20),
		"nested": map[string]any{"html": "<script>alert(3)</script>"},
	}, http.StatusCreated, nil)

	p.open(ctx, "/backends/shop/data/notes")
	p.waitText(ctx, "table.documents tbody", img)
	p.waitText(ctx, "table.documents thead", key)
	p.waitText(ctx, "table.documents tbody", `<script>alert(3)</script>`)
	p.run(ctx, "open it", click(`button.open-doc`))
	p.eventually(ctx, "the editor to hold the markup as text",
		fmt.Sprintf(`document.querySelector('.doc-editor textarea').value.includes(%q)`, img))
	var found struct{ Img, Bold, Script int }
	p.eval(ctx, `({img: document.querySelectorAll('main img').length, bold: document.querySelectorAll('main b').length,
		script: document.querySelectorAll('main script').length})`, &found)
	if found.Img != 0 || found.Bold != 0 || found.Script != 0 {
		t.Errorf("markup became elements: %+v", found)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}

	p.run(ctx, "narrow", chromedp.EmulateViewport(375, 812))
	p.open(ctx, "/backends/shop/data/notes")
	p.waitText(ctx, "table.documents", img)
	p.run(ctx, "open it", click(`button.open-doc`))
	p.waitText(ctx, ".doc-editor h3", "Document")
	p.screenshot(ctx, "data-browser-375")
	var widths struct{ Page, View int }
	p.eval(ctx, `({page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth})`, &widths)
	if widths.Page > 375 {
		t.Errorf("at 375 px the page is %d px wide (viewport %d): it scrolls sideways", widths.Page, widths.View)
	}
}

// TestUsersAndFiles: the Users tab lists end users, filters them by part of an email and deletes
// one after a confirmation (their file stays); the Files tab lists a file an end user uploaded,
// links it as a download the control plane serves as an attachment, and deletes it after a
// confirmation.
func TestUsersAndFiles(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	bea := c.endUser("shop", "bea@example.com")
	c.endUser("shop", "carl@example.org")
	const filename = "notes #1?.txt"
	const content = "hello from bea\n"
	meta := c.endUserUpload("shop", bea, filename, content)
	owner, _ := meta["owner"].(string)

	p.open(ctx, "/backends/shop/users")
	p.waitText(ctx, "table.users-table", "bea@example.com")
	p.waitText(ctx, "table.users-table", "carl@example.org")
	p.screenshot(ctx, "users")
	p.expectLabelled(ctx, "/backends/shop/users")
	const rows = `document.querySelectorAll('table.users-table tbody tr').length`
	p.run(ctx, "search example.org", fill(`input[name=email]`, "example.org"))
	p.eventually(ctx, "one user to match example.org", rows+` === 1 && document.querySelector('table.users-table').textContent.includes('carl@example.org')`)
	p.run(ctx, "search nobody", fill(`input[name=email]`, "nobody"))
	p.waitText(ctx, ".users", `No user's email contains "nobody"`)
	p.run(ctx, "search bea", fill(`input[name=email]`, "BEA"))
	p.eventually(ctx, "bea alone", rows+` === 1 && document.querySelector('table.users-table').textContent.includes('bea@example.com')`)
	p.run(ctx, "delete bea", click(`button.delete-user`))
	p.acceptConfirm(ctx, "sessions end")
	p.waitText(ctx, ".users", `No user's email contains "BEA"`)
	var users []map[string]any
	h := c.do(http.MethodGet, "", "/api/backends/shop/admin/users", nil, nil, http.StatusOK, &users)
	if len(users) != 1 || users[0]["email"] != "carl@example.org" || h.Get("X-Total-Count") != "1" {
		t.Fatalf("users after the delete = %v (total %s), want carl alone", users, h.Get("X-Total-Count"))
	}

	p.open(ctx, "/backends/shop/files")
	p.waitText(ctx, "table.files-table", filename)
	p.waitText(ctx, "table.files-table", owner)
	p.waitText(ctx, "table.files-table", "15 B")
	p.screenshot(ctx, "files")
	var link string
	p.eval(ctx, `document.querySelector('a.download').getAttribute('href')`, &link)
	if want := "/api/backends/shop/admin/files/" + owner + "/notes%20%231%3F.txt"; link != want {
		t.Errorf("download link = %q, want %q", link, want)
	}
	var got struct {
		Status            int
		Disposition, Body string
	}
	p.eval(ctx, `(async () => { const r = await fetch(document.querySelector('a.download').href);
		return {status: r.status, disposition: r.headers.get('Content-Disposition'), body: await r.text()}; })()`, &got)
	if got.Status != http.StatusOK || !strings.HasPrefix(got.Disposition, "attachment") || got.Body != content {
		t.Errorf("download = %+v, want 200, an attachment, %q", got, content)
	}
	p.run(ctx, "delete the file", click(`button.delete-file`))
	p.acceptConfirm(ctx, filename)
	p.waitText(ctx, ".files", "No files yet")
	var files []map[string]any
	c.do(http.MethodGet, "", "/api/backends/shop/admin/files", nil, nil, http.StatusOK, &files)
	if len(files) != 0 {
		t.Errorf("files after the delete = %v, want none", files)
	}
}
