package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// decodeBody runs DecodeJSON on body into v and returns the client's view of the outcome.
func decodeBody(t *testing.T, body string, v any) *Error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	err := DecodeJSON(echo.New().NewContext(req, httptest.NewRecorder()), v)
	if err == nil {
		return nil
	}
	e, ok := Common(err)
	if !ok {
		t.Fatalf("%q: unmapped error %v", body, err)
	}
	return e
}

// TestDecodeJSONRefusesDuplicateKeys: a key given twice (exactly, in another case, or inside a
// nested object) is refused, where encoding/json alone would let the last one win.
func TestDecodeJSONRefusesDuplicateKeys(t *testing.T) {
	type inner struct {
		Keep int `json:"keep"`
	}
	type body struct {
		Email   string `json:"email"`
		Backups inner  `json:"backups"`
	}
	for _, raw := range []string{
		`{"email":"a@example.com","email":"b@example.com"}`,
		`{"email":"a@example.com","EMAIL":"b@example.com"}`,
		`{"Email":"a@example.com","eMail":"b@example.com"}`,
		`{"backups":{"keep":1,"keep":2}}`,
	} {
		var v body
		e := decodeBody(t, raw, &v)
		if e == nil || e.Status != http.StatusBadRequest || e.Code != "invalid_json" || !strings.Contains(e.Message, "more than once") && !strings.Contains(e.Message, "duplicate key") {
			t.Errorf("DecodeJSON(%s) = %+v into %+v; want 400 invalid_json naming the duplicate", raw, e, v)
		}
	}
	var v body
	if e := decodeBody(t, `{"email":"a@example.com","backups":{"keep":2}}`, &v); e != nil || v.Email != "a@example.com" || v.Backups.Keep != 2 {
		t.Fatalf("a valid body: %+v, %+v", e, v)
	}
}

// goTypeName matches what encoding/json would print for a type: package-qualified names such
// as controlplane.registerBody, slices and maps of them, Go's number kinds.
var goTypeName = regexp.MustCompile(`\b[a-z]+\.[a-z]*[A-Z]\w*|\[\]|map\[|\bint(8|16|32|64)?\b|\buint|\bfloat(32|64)\b|\bstruct\b`)

// TestDecodeJSONMessagesInWords: every refusal says what JSON was expected, never a Go type.
func TestDecodeJSONMessagesInWords(t *testing.T) {
	type settingsBody struct {
		Name    string    `json:"name"`
		Keep    int       `json:"keep"`
		Ratio   float64   `json:"ratio"`
		On      *bool     `json:"on"`
		Origins *[]string `json:"origins"`
		Nested  struct {
			Keep int `json:"keep"`
		} `json:"nested"`
	}
	for raw, want := range map[string]string{
		`[]`:                     "the body must be a JSON object",
		`"hello"`:                "the body must be a JSON object",
		`null`:                   "the body must be a JSON object",
		`12`:                     "the body must be a JSON object",
		`{"name":5}`:             `field "name" must be a string`,
		`{"keep":"5"}`:           `field "keep" must be a whole number in range`,
		`{"keep":1.5}`:           `field "keep" must be a whole number in range`,
		`{"ratio":"x"}`:          `field "ratio" must be a number`,
		`{"on":"yes"}`:           `field "on" must be true or false`,
		`{"origins":"a"}`:        `field "origins" must be an array`,
		`{"origins":[1]}`:        `must be a string`,
		`{"nested":[]}`:          `field "nested" must be a JSON object`,
		`{"nested":{"keep":{}}}`: `field "nested.keep" must be a whole number in range`,
	} {
		var v settingsBody
		e := decodeBody(t, raw, &v)
		if e == nil || e.Code != "invalid_json" || !strings.Contains(e.Message, want) || goTypeName.MatchString(e.Message) {
			t.Errorf("DecodeJSON(%s) = %+v; want a message with %q and no Go type", raw, e, want)
		}
	}
}
