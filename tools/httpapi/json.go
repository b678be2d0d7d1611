package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// RequireJSON refuses bodies that do not say they are JSON, so a form post or a file sent to a
// JSON endpoint by mistake gets a clear 415 instead of a parse error (and a cross-site form
// cannot reach a JSON endpoint without a CORS preflight).
func RequireJSON(c echo.Context) error {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
	}
	return nil
}

// DecodeJSON reads a small JSON body into a struct, refusing unknown fields so that typos
// ("emial") are reported rather than ignored.
func DecodeJSON(c echo.Context, v any) error {
	if err := RequireJSON(c); err != nil {
		return err
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return JSONError(err)
	}
	// Anything after the object but whitespace is refused: reading on to the end also
	// enforces the size limit of a body that did not declare its length.
	if _, err := dec.Token(); err != io.EOF {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return err
		}
		return BadRequest("invalid_json", "the body must hold a single JSON object")
	}
	return nil
}

// JSONError explains a decoding failure in words, without echoing Go type names at length.
func JSONError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxBytes  *http.MaxBytesError
		errPrefix = "the body is not valid JSON"
	)
	switch {
	case errors.As(err, &maxBytes):
		return err
	case errors.As(err, &syntax):
		return BadRequest("invalid_json", fmt.Sprintf("%s (at byte %d)", errPrefix, syntax.Offset))
	case errors.As(err, &typeErr):
		return BadRequest("invalid_json", fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("invalid_json", "the body is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return BadRequest("invalid_json", strings.TrimPrefix(err.Error(), "json: "))
	}
	return BadRequest("invalid_json", errPrefix)
}
