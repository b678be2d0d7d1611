// Package badinput is the one table of malformed, oversized and odd requests that the sweep
// tests of both HTTP APIs (the backend API's ports and the control plane) send to every route
// their routers register, and the one check of each answer against the contract: never a 5xx,
// and every 4xx the error shape {"error":{"code","message"}} with a snake_case code and a
// message that names no Go type, package or driver.
package badinput

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// Body is one request body to send.
type Body struct {
	Name        string
	ContentType string // "" sends none
	Data        []byte
	// Chunked sends the body without a Content-Length, so only reading it finds its size.
	Chunked bool
}

// Reader returns the body to give http.NewRequest: chunked bodies hide their length.
func (b Body) Reader() io.Reader {
	if b.Chunked {
		return io.MultiReader(bytes.NewReader(b.Data))
	}
	return bytes.NewReader(b.Data)
}

// Bodies lists malformed, truncated, wrongly typed, duplicated, mislabelled and oversized
// bodies; limit is the largest body the API takes (the oversized ones exceed it).
func Bodies(limit int64) []Body {
	big := []byte(`{"title":"` + strings.Repeat("x", int(limit)+1024) + `"}`)
	deep := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	deepObj := []byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000))
	js := "application/json"
	return []Body{
		{Name: "empty", ContentType: js},
		{Name: "malformed", ContentType: js, Data: []byte(`{"email": nope}`)},
		{Name: "truncated", ContentType: js, Data: []byte(`{"email":"a@example.com","password":"pass`)},
		{Name: "array", ContentType: js, Data: []byte(`[{"email":"a@example.com"}]`)},
		{Name: "string", ContentType: js, Data: []byte(`"hello"`)},
		{Name: "number", ContentType: js, Data: []byte(`42`)},
		{Name: "null", ContentType: js, Data: []byte(`null`)},
		{Name: "duplicated keys", ContentType: js, Data: []byte(`{"name":"a","name":"b","email":"a@example.com","email":"b@example.com","title":1,"title":2}`)},
		{Name: "wrong field types", ContentType: js, Data: []byte(`{"name":1,"email":[],"password":{},"title":null,"rule":7,"corsOrigins":"x","role":[],"read":{},"write":3}`)},
		{Name: "operators", ContentType: js, Data: []byte(`{"$where":"1","a.b":1,"$set":{"x":1},"_id":{"$gt":""}}`)},
		{Name: "odd strings", ContentType: js, Data: []byte(`{"name":"a\u0000b","email":"\ud800@example.com","title":"\u0000"}`)},
		{Name: "invalid utf-8", ContentType: js, Data: []byte("{\"name\":\"\xff\xfe\",\"email\":\"\xc3\x28@example.com\"}")},
		{Name: "huge numbers", ContentType: js, Data: []byte(`{"n":1e400,"m":-1e400,"limit":99999999999999999999999,"size":1e308}`)},
		{Name: "deep array", ContentType: js, Data: deep},
		{Name: "deep object", ContentType: js, Data: deepObj},
		{Name: "trailing data", ContentType: js, Data: []byte(`{"name":"a"} {"name":"b"}`)},
		{Name: "text/plain", ContentType: "text/plain", Data: []byte(`{"name":"a"}`)},
		{Name: "no content type", Data: []byte(`{"name":"a"}`)},
		{Name: "bad content type", ContentType: "application/json; charset=ebcdic; ===", Data: []byte(`{}`)},
		{Name: "form", ContentType: "application/x-www-form-urlencoded", Data: []byte(`name=a&name=b&%zz`)},
		{Name: "multipart without boundary", ContentType: "multipart/form-data", Data: []byte(`junk`)},
		{Name: "broken multipart", ContentType: "multipart/form-data; boundary=xyz", Data: []byte("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc")},
		{Name: "junk zip", ContentType: "application/zip", Data: []byte("PK\x03\x04 not a zip")},
		multipartBody("multipart traversal", "../../etc/passwd", "..", []byte("x")),
		multipartBody("multipart NUL", "a\x00b.txt", "a\x00b", []byte("x")),
		multipartBody("multipart invalid utf-8", "\xff\xfe.txt", "\xc3\x28", []byte("x")),
		multipartBody("multipart long name", strings.Repeat("n", 5000)+".txt", strings.Repeat("b", 5000), []byte("x")),
		multipartBody("multipart empty name", "", "", []byte("x")),
		multipartBody("multipart oversized", "big.bin", "", bytes.Repeat([]byte("x"), int(16*limit))),
		{Name: "oversized", ContentType: js, Data: big},
		{Name: "oversized chunked", ContentType: js, Data: big, Chunked: true},
	}
}

// multipartBody is an upload form with a file part of that name and content and, unless
// empty, the same name again in a "filename" field and bucket in a "bucket" field.
func multipartBody(name, filename, bucket string, content []byte) Body {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if filename != "" {
		_ = w.WriteField("filename", filename)
	}
	if bucket != "" {
		_ = w.WriteField("bucket", bucket)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+strings.ReplaceAll(filename, `"`, "")+`"`)
	h.Set("Content-Type", "application/octet-stream")
	part, _ := w.CreatePart(h)
	_, _ = part.Write(content)
	_ = w.Close()
	return Body{Name: name, ContentType: w.FormDataContentType(), Data: buf.Bytes()}
}

// Queries lists raw query strings with invalid filters, sorts, projections and paging, huge and
// repeated parameters and odd bytes.
func Queries() []string {
	huge := url.QueryEscape(strings.Repeat("x", 64<<10))
	return []string{
		"filter=" + url.QueryEscape(`{"title":`),
		"filter=" + url.QueryEscape(`[]`),
		"filter=" + url.QueryEscape(`"x"`),
		"filter=" + url.QueryEscape(`{"$where":"sleep(1)"}`),
		"filter=" + url.QueryEscape(`{"title":{"$regex":"(a+)+$"},"a":{"$gt":{"$lt":1}},"$or":5}`),
		"filter=" + url.QueryEscape(`{"a":1,"a":2}`),
		"filter=" + url.QueryEscape(strings.Repeat(`{"$and":[`, 5000)),
		"sort=" + url.QueryEscape(`-`),
		"sort=" + url.QueryEscape(`title,title,-title,$x,a..b,`),
		"sort=" + url.QueryEscape(`{"title":1}`),
		"fields=" + url.QueryEscape(`$x,,a..b,_id,-`),
		"fields=" + url.QueryEscape(strings.Repeat("a,", 10000)),
		"limit=-1&skip=-1",
		"limit=abc&skip=abc",
		"limit=1e99&skip=1e99",
		"limit=99999999999999999999999&skip=99999999999999999999999",
		"limit=0&skip=0",
		"limit=1&limit=2&skip=1&skip=2",
		"after=%00&before=%ff&cursor=x",
		"q=" + huge,
		"email=" + huge + "&filter=" + huge,
		"%00=1&a=%ff%fe&b=%zz&c",
		"follow=maybe&tail=-5&since=yesterday&timestamps=2",
	}
}

// PathValues lists values for a path parameter besides valid ones: names and ids that exist
// nowhere or are invalid, empty-looking, huge, or carry NUL, invalid UTF-8, dot segments and
// operators (already escaped for a URL path).
func PathValues() []string {
	return []string{
		"nothere",
		"000000000000000000000000",
		"zzzzzzzzzzzzzzzzzzzzzzzz",
		"Has%20Space",
		"UPPER",
		"-",
		"%2E",
		"..",
		"%2E%2E",
		"a%00b",
		"%00",
		"%FF%FE",
		"%C3%28",
		"%24where",
		"a.b",
		"%7B%22%24gt%22%3A%22%22%7D",
		strings.Repeat("a", 300),
		strings.Repeat("b", 8000),
		"%2F",
		"a%2Fb",
		"%5C..%5C",
	}
}

// Routes lists what e serves as method and path pattern, without echo's internal entries.
func Routes(e *echo.Echo) []*echo.Route {
	var out []*echo.Route
	for _, r := range e.Routes() {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			out = append(out, r)
		}
	}
	return out
}

// Fill substitutes the path parameters (":name" segments and a final "*") of pattern: value
// returns what to put for each parameter.
func Fill(pattern string, value func(param string) string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, ":"):
			parts[i] = value(p[1:])
		case p == "*":
			parts[i] = value("*")
		}
	}
	return strings.Join(parts, "/")
}

// Params lists the parameter names of pattern in order.
func Params(pattern string) []string {
	var out []string
	for _, p := range strings.Split(pattern, "/") {
		switch {
		case strings.HasPrefix(p, ":"):
			out = append(out, p[1:])
		case p == "*":
			out = append(out, "*")
		}
	}
	return out
}

var (
	snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	// goish matches what a message must not show: Go package-qualified names, Go type syntax,
	// decoder and driver wording, panics.
	goish = regexp.MustCompile(`\b(main|controlplane|coreapi|httpapi|store|runtime|local|swarm|credentials|ephemeral|filter|jsondoc|names|siterelease|secretbox|echo|http|json|bson|primitive|mongo|sql|url|strconv|multipart|zip|os|fs|io)\.[A-Za-z]` +
		`|struct ?\{|\bstruct\b|\[\]interface|interface ?\{|map\[|\bjson:|Go (value|struct)|unmarshal|cannot decode|\bbson\b|runtime error|nil pointer|goroutine|SQLSTATE|sqlite|\bpq:|pgx|server selection|\(\*[a-z]`)
)

// Check returns why an answer breaks the contract, or "" when it keeps it: no 5xx, and a 4xx
// is JSON of the error shape with a snake_case code and a message free of Go and driver text.
func Check(method string, status int, header http.Header, body []byte) string {
	if status >= 500 {
		return fmt.Sprintf("status %d: %s", status, trim(body))
	}
	if status < 400 || method == http.MethodHead {
		return ""
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Sprintf("status %d with Content-Type %q: %s", status, ct, trim(body))
	}
	var e struct {
		Error *struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
		return fmt.Sprintf("status %d without the error shape: %s", status, trim(body))
	}
	switch {
	case !snakeCase.MatchString(e.Error.Code):
		return fmt.Sprintf("status %d with code %q, not snake_case", status, e.Error.Code)
	case strings.TrimSpace(e.Error.Message) == "":
		return fmt.Sprintf("status %d with an empty message: %s", status, trim(body))
	case goish.MatchString(e.Error.Message):
		return fmt.Sprintf("status %d %s: message %q shows Go or driver text (%q)", status, e.Error.Code, e.Error.Message, goish.FindString(e.Error.Message))
	case len(e.Error.Details) > 0 && e.Error.Details[0] != '{' && string(e.Error.Details) != "null":
		return fmt.Sprintf("status %d with details that are not an object: %s", status, trim(body))
	}
	return ""
}

func trim(b []byte) string { return shorten(string(b), 300) }
