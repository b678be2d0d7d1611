// Command gen writes the fixtures of package ferretimport: data directories written by the
// version of Backpack that kept documents in an embedded FerretDB (commit f89c26e and before),
// filled the way users fill them, through the HTTP APIs of `backpack dev` (the local runtime)
// and of `backpack-api --embedded`. Next to each directory it writes expected.json: what
// FerretDB itself reads back from every collection, as canonical Extended JSON (exact types),
// with the indexes, and the passwords and keys the test needs to prove users can sign in.
//
// The binaries must be built from a commit that still embeds FerretDB:
//
//	git worktree add /tmp/old f89c26e && (cd /tmp/old && go build -o /tmp/old/bin/ ./cmd/backpack ./cmd/backpack-api)
//	go run ./tools/docstore/ferretimport/testdata/gen -bin /tmp/old/bin -out tools/docstore/ferretimport/testdata
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/docstore/ferretimport/ferretfixture"
	"github.com/backpackhq/backpack/tools/embeddeddb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func main() {
	bin := flag.String("bin", "", "directory holding backpack and backpack-api built from a commit that embeds FerretDB")
	out := flag.String("out", ".", "testdata directory to write dev/ and embedded/ into")
	flag.Parse()
	if *bin == "" {
		log.Fatal("-bin is required")
	}
	if err := genDev(filepath.Join(*bin, "backpack"), filepath.Join(*out, "dev")); err != nil {
		log.Fatalf("dev fixture: %v", err)
	}
	if err := genEmbedded(filepath.Join(*bin, "backpack-api"), filepath.Join(*out, "embedded")); err != nil {
		log.Fatalf("embedded fixture: %v", err)
	}
}

// client talks to one server, keeping cookies and sending the CSRF header the control plane wants.
type client struct {
	http *http.Client
	jar  *cookiejar.Jar
	port string
}

func newClient(port string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{jar: jar, port: port, http: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, p, _ := net.SplitHostPort(addr)
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+p)
		}}}}
}

// do sends a request and decodes a JSON answer into out (when not nil); any status but want fails.
func (c *client) do(method, rawURL string, header map[string]string, body io.Reader, want int, out any) error {
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	u, _ := url.Parse(rawURL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "bkpk_csrf" {
			req.Header.Set("X-CSRF-Token", ck.Value)
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s = %d %s, want %d", method, rawURL, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, rawURL, err)
		}
	}
	return nil
}

// json sends a JSON body.
func (c *client) json(method, rawURL string, header map[string]string, body any, want int, out any) error {
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return c.do(method, rawURL, h, r, want, out)
}

// freePort asks the kernel for a port nobody listens on.
func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// start runs a binary until stop is called (SIGTERM, then wait).
func start(name string, args ...string) (stop func() error, err error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() error {
		_ = cmd.Process.Signal(os.Interrupt)
		return cmd.Wait()
	}, nil
}

// waitReady polls url until it answers 200.
func (c *client) waitReady(rawURL string) error {
	for range 600 {
		if err := c.do(http.MethodGet, rawURL, nil, nil, http.StatusOK, nil); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never answered", rawURL)
}

// user is an end user the fixture registers.
type user struct{ email, password, token string }

// fill writes the same kinds of data into one backend through its public API (pub, with the
// API key) and its admin API (admin, a prefix with whatever authenticates it).
func fill(c *client, pub, key, admin string, adminHeader map[string]string, b *ferretfixture.Backend) error {
	k := map[string]string{"X-API-Key": key}
	users := []*user{{email: "ann@example.com", password: "ann's password 1"}, {email: "Bob.O'Neil+tag@example.org", password: "pässwörd with ünïcode ✓"}}
	for _, u := range users {
		if err := c.json(http.MethodPost, pub+"/auth/register", k, map[string]string{"email": u.email, "password": u.password}, http.StatusCreated, nil); err != nil {
			return err
		}
		var tok struct{ Token string }
		if err := c.json(http.MethodPost, pub+"/auth/token", k, map[string]string{"email": u.email, "password": u.password}, http.StatusOK, &tok); err != nil {
			return err
		}
		u.token = tok.Token
		b.Passwords[strings.ToLower(u.email)] = u.password
	}
	as := func(u *user) map[string]string {
		return map[string]string{"X-API-Key": key, "Authorization": "Bearer " + u.token}
	}
	for _, name := range []string{"products", "notes", "empty_one"} {
		if err := c.json(http.MethodPost, admin+"/admin/collections", adminHeader, map[string]string{"name": name}, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	if err := c.json(http.MethodPatch, admin+"/admin/collections/notes", adminHeader, map[string]string{"rule": "owner"}, http.StatusOK, nil); err != nil {
		return err
	}
	products := []string{
		`{"name":"widget","price":9.5,"stock":3,"big":1099511627776,"negative":-2147483649,"whole":2.0,"tiny":1e-300,"active":true,"discontinued":false,"note":null,"tags":["a",1,2.5,false,null,{"k":"v","in":[1,"two"]}],"dims":{"w":1,"h":{"deep":[1,{"x":[2,3]}]}},"unicode":"héllo \"quoted\" \\ back\u2028slash 😀 <tag>","empty":{},"emptyArr":[],"dotted":{"a":{"b":{"c":"d"}}}}`,
		`{"name":"gadget","price":0,"stock":-1,"ratio":0.1,"tags":[],"max32":2147483647,"min64":-9223372036854775808,"max64":9223372036854775807,"bigfloat":1.7976931348623157e308}`,
		`{"name":"","price":12.75,"keys with spaces":"ok","UPPER":1,"$notOperator":"no"}`,
	}
	for _, p := range products {
		err := c.do(http.MethodPost, admin+"/admin/collections/products/docs", merge(adminHeader, map[string]string{"Content-Type": "application/json"}), strings.NewReader(p), http.StatusCreated, nil)
		if err != nil && strings.Contains(p, "$notOperator") {
			// a key starting with $ is refused; the document is kept without it
			p = strings.Replace(p, `,"$notOperator":"no"`, "", 1)
			err = c.do(http.MethodPost, admin+"/admin/collections/products/docs", merge(adminHeader, map[string]string{"Content-Type": "application/json"}), strings.NewReader(p), http.StatusCreated, nil)
		}
		if err != nil {
			return err
		}
	}
	var made struct {
		ID string `json:"_id"`
	}
	if err := c.json(http.MethodPost, pub+"/products", as(users[0]), map[string]any{"name": "patched later", "n": 1}, http.StatusCreated, &made); err != nil {
		return err
	}
	if err := c.json(http.MethodPatch, pub+"/products/"+made.ID, as(users[0]), map[string]any{"n": 2.5, "extra": []any{"x"}}, http.StatusOK, nil); err != nil {
		return err
	}
	for i, u := range users {
		for j := range 3 {
			doc := map[string]any{"text": fmt.Sprintf("note %d of %s", j, u.email), "order": j, "pinned": j == 0}
			if err := c.json(http.MethodPost, pub+"/notes", as(u), doc, http.StatusCreated, nil); err != nil {
				return err
			}
		}
		if i == 0 {
			if err := c.json(http.MethodPost, pub+"/collections", as(u), map[string]string{"name": "made-by-user"}, http.StatusCreated, nil); err != nil {
				return err
			}
			if err := c.json(http.MethodPost, pub+"/made-by-user", as(u), map[string]any{"x": 1}, http.StatusCreated, nil); err != nil {
				return err
			}
		}
	}
	files := []struct {
		u                         *user
		filename, bucket, content string
	}{
		{users[0], "report (final) é.txt", "docs", "the report\n"},
		{users[0], "a+b=c;d.json", "", `{"a":1}`},
		{users[1], "photo.png", "images", "PNG-ish bytes ✓ not really\r\n"},
	}
	for _, f := range files {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		fw, _ := w.CreateFormFile("file", "upload.bin")
		_, _ = fw.Write([]byte(f.content))
		_ = w.WriteField("filename", f.filename)
		if f.bucket != "" {
			_ = w.WriteField("bucket", f.bucket)
		}
		_ = w.Close()
		if err := c.do(http.MethodPost, pub+"/files", merge(as(f.u), map[string]string{"Content-Type": w.FormDataContentType()}), &body, http.StatusCreated, nil); err != nil {
			return err
		}
		b.Files[strings.ToLower(f.u.email)+"/"+f.filename] = f.content
	}
	b.Site = map[string]string{"index.html": "<!doctype html><title>shop</title><script src=assets/app.js></script>\n", "assets/app.js": "console.log('hi')\n"}
	return nil
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// siteZip is the site a fixture publishes.
func siteZip(files map[string]string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, _ := w.Create(n)
		_, _ = f.Write([]byte(files[n]))
	}
	_ = w.Close()
	return buf.Bytes()
}

// genDev fills a `backpack dev` data directory: an operator, two backends, one full.
func genDev(bin, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	port := freePort()
	stop, err := start(bin, "dev", "--data-dir", dir, "--port", port)
	if err != nil {
		return err
	}
	defer func() { _ = stop() }()
	c := newClient(port)
	host := func(label string) string { return "http://" + label + "localhost:" + port }
	if err := c.waitReady(host("admin.") + "/healthz"); err != nil {
		return err
	}
	if err := c.json(http.MethodPost, host("admin.")+"/api/auth/register", nil, map[string]string{"email": ferretfixture.DevOperatorEmail, "password": ferretfixture.DevOperatorPassword}, http.StatusCreated, nil); err != nil {
		return err
	}
	exp := ferretfixture.Expected{Backends: map[string]ferretfixture.Backend{}}
	for _, name := range []string{"shop", "blog"} {
		if err := c.json(http.MethodPost, host("admin.")+"/api/backends", nil, map[string]string{"name": name}, http.StatusAccepted, nil); err != nil {
			return err
		}
		var key string
		for range 600 {
			var b struct{ State, APIKey string }
			if err := c.json(http.MethodGet, host("admin.")+"/api/backends/"+name, nil, nil, http.StatusOK, &b); err != nil {
				return err
			}
			if b.State == "running" {
				key = b.APIKey
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if key == "" {
			return fmt.Errorf("backend %s never ran", name)
		}
		if err := c.waitReady(host(name+"-be.") + "/readyz"); err != nil {
			return err
		}
		b := ferretfixture.Backend{Passwords: map[string]string{}, Files: map[string]string{}}
		admin := host("admin.") + "/api/backends/" + name
		if name == "blog" {
			// a second, smaller backend: one user, one document
			k := map[string]string{"X-API-Key": key}
			if err := c.json(http.MethodPost, host(name+"-be.")+"/auth/register", k, map[string]string{"email": "writer@example.com", "password": "writer password"}, http.StatusCreated, nil); err != nil {
				return err
			}
			b.Passwords["writer@example.com"] = "writer password"
			if err := c.json(http.MethodPost, admin+"/admin/collections", nil, map[string]string{"name": "posts"}, http.StatusCreated, nil); err != nil {
				return err
			}
			if err := c.json(http.MethodPost, admin+"/admin/collections/posts/docs", nil, map[string]any{"title": "hello", "n": 1}, http.StatusCreated, nil); err != nil {
				return err
			}
		} else {
			if err := fill(c, host(name+"-be."), key, admin, nil, &b); err != nil {
				return err
			}
			if err := c.do(http.MethodPost, host("admin.")+"/api/backends/"+name+"/site", map[string]string{"Content-Type": "application/zip"}, bytes.NewReader(siteZip(b.Site)), http.StatusCreated, nil); err != nil {
				return err
			}
			if err := c.json(http.MethodPatch, admin+"/admin/settings", nil, map[string]any{"corsOrigins": []string{"https://shop.example.com", "http://localhost:5173"}}, http.StatusOK, nil); err != nil {
				return err
			}
			var rotated struct{ APIKey string }
			if err := c.json(http.MethodPost, host("admin.")+"/api/backends/"+name+"/api-key", nil, nil, http.StatusOK, &rotated); err != nil {
				return err
			}
			key = rotated.APIKey
		}
		b.APIKey = key
		exp.Backends[name] = b
	}
	if err := stop(); err != nil {
		return fmt.Errorf("backpack dev stopped with %w", err)
	}
	return finish(dir, exp)
}

// genEmbedded fills a `backpack-api --embedded` data directory.
func genEmbedded(bin, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	port, adminPort := freePort(), freePort()
	stop, err := start(bin, "--embedded", "--data-dir", dir, "--port", port, "--admin-port", adminPort, "--listen-host", "127.0.0.1")
	if err != nil {
		return err
	}
	defer func() { _ = stop() }()
	c := newClient(port)
	pub, admin := "http://127.0.0.1:"+port, "http://127.0.0.1:"+adminPort
	if err := c.waitReady(pub + "/readyz"); err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(dir, "api-key"))
	if err != nil {
		return err
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		return err
	}
	b := ferretfixture.Backend{APIKey: strings.TrimSpace(string(key)), AdminToken: strings.TrimSpace(string(token)), Passwords: map[string]string{}, Files: map[string]string{}}
	ah := map[string]string{"Authorization": "Bearer " + b.AdminToken}
	if err := fill(c, pub, b.APIKey, admin, ah, &b); err != nil {
		return err
	}
	if err := c.do(http.MethodPut, admin+"/admin/site", merge(ah, map[string]string{"Content-Type": "application/zip"}), bytes.NewReader(siteZip(b.Site)), http.StatusCreated, nil); err != nil {
		return err
	}
	var rotated struct{ APIKey string }
	if err := c.json(http.MethodPatch, admin+"/admin/settings", ah, map[string]any{"corsOrigins": []string{"https://shop.example.com"}, "rotateApiKey": true, "quotas": map[string]any{"collections": 7}}, http.StatusOK, &rotated); err != nil {
		return err
	}
	if rotated.APIKey == "" {
		return errors.New("rotating the API key gave none")
	}
	b.APIKey = rotated.APIKey
	if err := stop(); err != nil {
		return fmt.Errorf("backpack-api stopped with %w", err)
	}
	return finish(dir, ferretfixture.Expected{Backends: map[string]ferretfixture.Backend{"": b}})
}

// finish strips what a fixture does not need (sockets, logs), reads every database back
// through FerretDB (on a copy, which it changes) and writes expected.json.
func finish(dir string, exp ferretfixture.Expected) error {
	_ = os.Remove(filepath.Join(dir, "db", embeddeddb.SocketName))
	copyDir, err := os.MkdirTemp("", "ferretfixture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(copyDir)
	if err := exec.Command("cp", "-a", filepath.Join(dir, "db"), copyDir).Run(); err != nil {
		return err
	}
	ctx := context.Background()
	srv, err := embeddeddb.Start(ctx, filepath.Join(copyDir, "db"), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer srv.Close()
	cl, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	if err != nil {
		return err
	}
	defer func() { _ = cl.Disconnect(ctx) }()
	dbs, err := cl.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		return err
	}
	exp.Databases = map[string]map[string]ferretfixture.Collection{}
	for _, dbName := range dbs {
		db := cl.Database(dbName)
		names, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			return err
		}
		colls := map[string]ferretfixture.Collection{}
		for _, n := range names {
			var col ferretfixture.Collection
			cur, err := db.Collection(n).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
			if err != nil {
				return err
			}
			for cur.Next(ctx) {
				b, err := bson.MarshalExtJSON(cur.Current, true, false)
				if err != nil {
					return err
				}
				col.Documents = append(col.Documents, b)
			}
			if err := cur.Err(); err != nil {
				return err
			}
			icur, err := db.Collection(n).Indexes().List(ctx)
			if err != nil {
				return err
			}
			for icur.Next(ctx) {
				b, err := bson.MarshalExtJSON(icur.Current, true, false)
				if err != nil {
					return err
				}
				col.Indexes = append(col.Indexes, b)
			}
			colls[n] = col
		}
		exp.Databases[dbName] = colls
	}
	b, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "expected.json"), append(b, '\n'), 0o644)
}
