package admin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// adminIndexes lists a collection's indexes through the admin proxy.
func (c *client) adminIndexes(collection string) []struct {
	Name   string
	Fields []string
	Unique bool
} {
	c.t.Helper()
	var out []struct {
		Name   string
		Fields []string
		Unique bool
	}
	c.do(http.MethodGet, "", "/api/backends/shop/admin/collections/"+collection+"/indexes", nil, nil, http.StatusOK, &out)
	return out
}

// TestIndexes: the Data tab's Indexes section lists a collection's indexes with their fields'
// directions, creates one from a comma-separated list, says in words why the server refused
// one (fields it cannot index, an index that exists, a unique index over values that repeat),
// shows an index made elsewhere as it appears, shows markup in names as text, and deletes an
// index after a confirmation.
func TestIndexes(t *testing.T) {
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
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections", nil, map[string]string{"name": "cars"}, http.StatusCreated, nil)
	for _, plate := range []string{"AB-1", "AB-1"} {
		c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/cars/docs", nil, map[string]any{"plate": plate, "n": 1}, http.StatusCreated, nil)
	}

	p.open(ctx, "/backends/shop/data/cars")
	p.waitText(ctx, ".indexes-card", "No indexes on cars")
	p.expectLabelled(ctx, "/backends/shop/data/cars")

	const fields = `form.create-index input[name=fields]`
	const create = `form.create-index button[type=submit]`
	// What is plain to see is said before sending; what only the server knows, after.
	for _, bad := range []struct{ typed, says string }{
		{"", "at least one field"}, {"n,,title", "empty item"}, {"-", `right after "-"`}, {"a.$b", "cannot start with"},
		{"n, -n", "listed twice"}, {"_id", "cannot be indexed: _id has its own unique index already"},
	} {
		p.run(ctx, "fields "+bad.typed, fill(fields, bad.typed), click(create))
		p.waitText(ctx, "form.create-index .field-error", bad.says)
	}

	p.run(ctx, "create -n, title", fill(fields, "-n, title"), click(create))
	p.waitText(ctx, ".indexes-card [role=status]", "Created index n_-1_title_1.")
	p.waitText(ctx, `tr[data-index="n_-1_title_1"]`, "n descending, title ascending")
	if got := c.adminIndexes("cars"); len(got) != 1 || got[0].Name != "n_-1_title_1" || fmt.Sprint(got[0].Fields) != "[-n title]" || got[0].Unique {
		t.Fatalf("indexes = %+v, want n_-1_title_1 on -n, title", got)
	}
	var left string
	p.eval(ctx, fmt.Sprintf(`document.querySelector(%q).value`, fields), &left)
	if left != "" {
		t.Errorf("the fields input still holds %q after the index was created", left)
	}

	p.run(ctx, "the same again", fill(fields, "-n,title"), click(create))
	p.waitText(ctx, "form.create-index .error", "already has an index on these fields")

	p.run(ctx, "unique plate", fill(fields, "plate"), click(`form.create-index input[name=unique]`), click(create))
	p.waitText(ctx, "form.create-index .error", "Some documents already share the same plate, so a unique index cannot be built.")
	if got := c.adminIndexes("cars"); len(got) != 1 {
		t.Fatalf("after a refused unique index, indexes = %+v", got)
	}

	// An index made elsewhere appears; markup in its name and fields is text.
	const markup = `<img src=x onerror=alert(1)>`
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/cars/indexes", nil,
		map[string]any{"fields": []string{"<b>bold</b>", "-plate"}, "name": markup}, http.StatusCreated, nil)
	p.waitText(ctx, ".indexes-table", markup)
	p.waitText(ctx, ".indexes-table", "<b>bold</b> ascending, plate descending")
	var found struct{ Img, Bold int }
	p.eval(ctx, `({img: document.querySelectorAll('main img').length, bold: document.querySelectorAll('main b').length})`, &found)
	if found.Img != 0 || found.Bold != 0 || dialogs.Load() != 0 {
		t.Errorf("markup became elements (%+v) or ran (%d dialogs)", found, dialogs.Load())
	}
	p.expectNoStrayValues(ctx, "/backends/shop/data/cars")
	p.screenshot(ctx, "data-indexes")

	// Delete, after a confirmation; the other index stays.
	p.run(ctx, "delete n_-1_title_1", click(`tr[data-index="n_-1_title_1"] button.drop-index`))
	p.acceptConfirm(ctx, "Queries on cars that use it get slower")
	p.waitText(ctx, ".indexes-card [role=status]", "Deleted index n_-1_title_1.")
	p.eventually(ctx, "the index to leave the table", `!document.querySelector('tr[data-index="n_-1_title_1"]')`)
	if got := c.adminIndexes("cars"); len(got) != 1 || got[0].Name != markup {
		t.Fatalf("after the delete, indexes = %+v", got)
	}
	// Deleted elsewhere, it leaves the table too.
	c.do(http.MethodDelete, "", "/api/backends/shop/admin/collections/cars/indexes/"+url.PathEscape(markup), nil, nil, http.StatusNoContent, nil)
	p.waitText(ctx, ".indexes-card", "No indexes on cars")
}
