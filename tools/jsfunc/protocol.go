package jsfunc

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// maxFrame bounds one frame, so a corrupt stream cannot make either side allocate without limit.
const maxFrame = 256 << 20

// Frame types.
const (
	frameInvoke = "invoke" // API → worker: run a handler (or load a source)
	frameDBRes  = "dbres"  // API → worker: the answer to the innermost db call
	frameDB     = "db"     // worker → API: a ctx.db call of the innermost invocation
	frameLog    = "log"    // worker → API: a log line of the innermost invocation
	frameMemory = "memory" // worker → API: the memory watchdog fired
	frameResult = "result" // worker → API: the innermost invocation finished
)

// Error kinds on the wire.
const (
	kindSyntax     = "syntax"
	kindHTTP       = "http"
	kindThrown     = "thrown"
	kindTimeout    = "timeout"
	kindMemory     = "memory"
	kindNeedSource = "needsource" // the worker does not have the key: send the source
	kindGeneric    = "generic"    // a Host error that is not an *HTTPError
)

// message is every frame; T says which fields matter.
type message struct {
	T string `json:"t"`

	// invoke
	Key        string            `json:"key,omitempty"`
	Source     string            `json:"source,omitempty"`
	Handler    string            `json:"handler,omitempty"`
	Load       bool              `json:"load,omitempty"`
	Args       []json.RawMessage `json:"args,omitempty"`
	User       *User             `json:"user,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	TimeoutMS  int64             `json:"timeoutMs,omitempty"`
	FetchHosts []string          `json:"fetchHosts,omitempty"`

	// db
	Call *DBCall `json:"call,omitempty"`

	// dbres, result
	Value json.RawMessage `json:"value,omitempty"`
	Err   *wireError      `json:"err,omitempty"`

	// result of a load
	Handlers []string `json:"handlers,omitempty"`

	// log
	Time  time.Time `json:"time,omitzero"`
	Level string    `json:"level,omitempty"`
	Text  string    `json:"text,omitempty"`
}

// wireError is an error crossing the pipe.
type wireError struct {
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
	Stack   string `json:"stack,omitempty"`
	Status  int    `json:"status,omitempty"`
	Code    string `json:"code,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// toError turns a wire error back into the package's errors.
func (e *wireError) toError() error {
	switch e.Kind {
	case kindSyntax:
		return &SyntaxError{Line: e.Line, Column: e.Column, Message: e.Message}
	case kindHTTP:
		return &HTTPError{Status: e.Status, Code: e.Code, Message: e.Message}
	case kindThrown:
		return &ThrownError{Message: e.Message, Stack: e.Stack}
	case kindTimeout:
		return ErrTimeout
	case kindMemory:
		return ErrMemory
	default:
		return fmt.Errorf("jsfunc: worker error %q: %s", e.Kind, e.Message)
	}
}

// writeFrame writes m as one frame.
func writeFrame(w io.Writer, m *message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", m.T, err)
	}
	if len(body) > maxFrame {
		return fmt.Errorf("%s frame of %d bytes is over the limit", m.T, len(body))
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write %s frame: %w", m.T, err)
	}
	return nil
}

// readFrame reads one frame.
func readFrame(r *bufio.Reader) (*message, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("read frame: %w", err)
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > maxFrame {
		return nil, fmt.Errorf("read frame: %d bytes is over the limit", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("read frame: %w", err)
	}
	m := new(message)
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	return m, nil
}
