package coreapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// multipartOverhead is what a multipart body may add to the file itself: boundaries, part
// headers and the small filename and bucket fields.
const multipartOverhead = 64 << 10

// maxFormField caps the text fields of an upload form.
const maxFormField = 1 << 10

// uploadForm is a parsed upload: the received file, the type and name the client gave its
// part, and the form's text fields.
type uploadForm struct {
	file     *core.Upload
	partType string
	partName string
	filename string
	bucket   string
}

// readUploadForm streams a multipart body: the "file" part goes straight to a temp file, the
// "filename" and "bucket" fields are read small. Any other part, a second file or a missing
// file is refused. On error nothing is left on disk.
func (s *Server) readUploadForm(c echo.Context, allowFields bool) (form uploadForm, err error) {
	req := c.Request()
	mt, _, perr := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if perr != nil || mt != echo.MIMEMultipartForm {
		return form, httpapi.NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the file as multipart/form-data with a part named \"file\"")
	}
	limit := s.cfg.MaxUploadBytes + multipartOverhead
	if req.ContentLength > limit {
		return form, &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("the file is larger than the limit of %d bytes", s.cfg.MaxUploadBytes), Details: map[string]any{"limit": s.cfg.MaxUploadBytes}}
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
	mr, perr := req.MultipartReader()
	if perr != nil {
		return form, httpapi.BadRequest("invalid_multipart", "the multipart body cannot be read: "+perr.Error())
	}
	defer func() {
		if err != nil {
			s.data.DiscardUpload(form.file)
			form.file = nil
		}
	}()
	for {
		part, perr := mr.NextPart()
		if errors.Is(perr, io.EOF) {
			break
		}
		if perr != nil {
			return form, multipartError(perr)
		}
		switch name := part.FormName(); {
		case name == "file":
			if form.file != nil {
				return form, httpapi.BadRequest("invalid_multipart", "send exactly one part named \"file\"")
			}
			up, rerr := s.data.ReceiveFile(part, s.cfg.MaxUploadBytes)
			if rerr != nil {
				return form, multipartError(rerr)
			}
			form.file = up
			form.partType = part.Header.Get(echo.HeaderContentType)
			form.partName = partFilename(part)
		case allowFields && (name == "filename" || name == "bucket"):
			b, rerr := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if rerr != nil {
				return form, multipartError(rerr)
			}
			if len(b) > maxFormField {
				return form, httpapi.BadRequest("invalid_multipart", fmt.Sprintf("the %q field is too long", name))
			}
			if name == "filename" {
				form.filename = string(b)
			} else {
				form.bucket = string(b)
			}
		default:
			return form, httpapi.BadRequest("invalid_multipart", fmt.Sprintf("unexpected form field %q", name))
		}
	}
	if form.file == nil {
		return form, httpapi.BadRequest("missing_file", "send the file in a part named \"file\"")
	}
	return form, nil
}

func multipartError(err error) error {
	var (
		ae  *httpapi.Error
		de  *core.Error
		mbe *http.MaxBytesError
	)
	if errors.As(err, &ae) || errors.As(err, &de) || errors.As(err, &mbe) {
		return err
	}
	return httpapi.BadRequest("invalid_multipart", "the multipart body is malformed")
}

// partFilename is the filename the client gave the part, unaltered: multipart.Part.FileName
// would strip directories, silently turning "../x" into "x", where we want to refuse it.
func partFilename(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// contentType picks the stored content type: what the client declared for the part, else
// what the extension says, else what the first bytes look like.
func (form uploadForm) contentType(filename string) string {
	if mt, params, err := mime.ParseMediaType(form.partType); err == nil && mt != "application/octet-stream" {
		return mime.FormatMediaType(mt, params)
	}
	if t := mime.TypeByExtension(path.Ext(filename)); t != "" {
		return t
	}
	return http.DetectContentType(form.file.Head)
}

// pathFilename reads and validates the :filename path parameter, percent-decoded exactly once.
// echo routes on the raw path when the request has one (an escape Go would not have written,
// such as %2F or %2e) and then leaves parameters escaped; otherwise they arrive decoded, and
// decoding again would turn "100%25.txt" into an error and "a%2541" into another file's name.
func pathFilename(c echo.Context) (string, error) {
	name := c.Param("filename")
	if c.Request().URL.RawPath != "" {
		var err error
		if name, err = url.PathUnescape(name); err != nil {
			return "", httpapi.BadRequest("invalid_name", "the filename in the path is not properly escaped")
		}
	}
	return name, names.Filename(name)
}

// ownFile reads the signed-in user and the :filename of a request on their own files.
func ownFile(c echo.Context) (uid, filename string, err error) {
	if uid = sessionUser(c); uid == "" {
		return "", "", core.ErrNotSignedIn
	}
	filename, err = pathFilename(c)
	return uid, filename, err
}

// anyUsersFile reads the :userId and :filename of a request naming a file by its owner. An
// owner that is not a user id cannot have files: that is a 404, like a missing file.
func anyUsersFile(c echo.Context) (owner, filename string, err error) {
	owner = c.Param("userId")
	if _, err := bson.ObjectIDFromHex(owner); err != nil {
		return "", "", core.ErrFileNotFound
	}
	filename, err = pathFilename(c)
	return owner, filename, err
}

func (s *Server) uploadFile(c echo.Context) error {
	uid := sessionUser(c)
	if uid == "" {
		return core.ErrNotSignedIn
	}
	form, err := s.readUploadForm(c, true)
	if err != nil {
		return err
	}
	filename := form.filename
	if filename == "" {
		filename = form.partName
	}
	ctx, cancel := s.queryContext(c.Request().Context())
	defer cancel()
	m, err := s.data.CreateFile(ctx, form.file, uid, filename, form.bucket, form.contentType(filename))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m.Public())
}

var fileListParams = map[string]bool{"userId": true, "bucket": true}

// listFiles lists the signed-in user's files, or with ?userId= another user's (any signed-in
// user may read any user's files, as with GET /files/:userId/:filename); ?bucket= narrows it.
func (s *Server) listFiles(c echo.Context) error {
	uid := sessionUser(c)
	if uid == "" {
		return core.ErrNotSignedIn
	}
	q := c.QueryParams()
	for k := range q {
		if !fileListParams[k] {
			return httpapi.BadRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use userId, bucket)", k))
		}
	}
	owner := uid
	if v := q.Get("userId"); v != "" {
		if _, err := bson.ObjectIDFromHex(v); err != nil {
			return httpapi.BadRequest("invalid_id", "userId must be 24 hexadecimal characters")
		}
		owner = v
	}
	return s.writeFileList(c, owner, q.Get("bucket"))
}

// writeFileList answers with the metadata of owner's files (everyone's for ""), in bucket
// (every bucket for ""), by owner and name.
func (s *Server) writeFileList(c echo.Context, owner, bucket string) error {
	metas, err := s.data.ListFiles(c.Request().Context(), owner, bucket)
	if err != nil {
		return err
	}
	out := make([]core.FileJSON, 0, len(metas))
	for _, m := range metas {
		out = append(out, m.Public())
	}
	return c.JSON(http.StatusOK, out)
}

// getFile serves a file's bytes with its recorded type. Uploaded content is untrusted, and it
// is served from the API's origin where the session cookie lives, so it is never sniffed and
// runs sandboxed: an uploaded HTML or SVG file cannot run script as the API.
func (s *Server) getFile(c echo.Context) error {
	if sessionUser(c) == "" {
		return core.ErrNotSignedIn
	}
	return s.serveFile(c, "inline")
}

// serveFile sends the file named by the route's userId and filename, shown in place
// (disposition "inline") or saved ("attachment").
func (s *Server) serveFile(c echo.Context, disposition string) error {
	owner, filename, err := anyUsersFile(c)
	if err != nil {
		return err
	}
	m, err := s.data.FindFile(c.Request().Context(), owner, filename)
	if err != nil {
		return err
	}
	f, info, err := s.data.OpenFile(m)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, m.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType(disposition, map[string]string{"filename": m.Filename}))
	http.ServeContent(c.Response(), c.Request(), "", info.ModTime(), f)
	return nil
}

type fileUpdate struct {
	Filename *string `json:"filename"`
	Bucket   *string `json:"bucket"`
}

func (s *Server) updateFile(c echo.Context) error {
	uid, filename, err := ownFile(c)
	if err != nil {
		return err
	}
	var req fileUpdate
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Filename == nil && req.Bucket == nil {
		return httpapi.BadRequest("invalid_request", "send filename, bucket or both")
	}
	m, err := s.data.RenameFile(c.Request().Context(), uid, filename, req.Filename, req.Bucket)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.Public())
}

func (s *Server) overwriteFile(c echo.Context) error {
	uid, filename, err := ownFile(c)
	if err != nil {
		return err
	}
	// The upload may take longer than a query may: each side of it gets its own deadline.
	before, cancel := s.queryContext(c.Request().Context())
	defer cancel()
	if _, err := s.data.FindFile(before, uid, filename); err != nil {
		return err
	}
	form, err := s.readUploadForm(c, false)
	if err != nil {
		return err
	}
	ctx, cancelAfter := s.queryContext(c.Request().Context())
	defer cancelAfter()
	m, err := s.data.OverwriteFile(ctx, form.file, uid, filename, form.contentType(filename))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.Public())
}

func (s *Server) deleteFile(c echo.Context) error {
	uid, filename, err := ownFile(c)
	if err != nil {
		return err
	}
	return s.removeFile(c, uid, filename)
}

// removeFile deletes one of owner's files and answers with its metadata.
func (s *Server) removeFile(c echo.Context, owner, filename string) error {
	m, err := s.data.DeleteFile(c.Request().Context(), owner, filename)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.Public())
}

// isUpload reports whether a request is a file upload (POST /files, PUT /files/NAME), whose
// body is capped by the upload limit instead of the JSON one.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/files" ||
		r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/files/")
}
