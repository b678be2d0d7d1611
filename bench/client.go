package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// requestTimeout bounds one request, so a stuck server cannot keep a scenario past its
// deadline for long.
const requestTimeout = 30 * time.Second

// apiClient calls the API under test as one signed-in user. Every client of the load shares
// it, and so shares its keep-alive connections.
type apiClient struct {
	http    *http.Client
	baseURL string
	apiKey  string
	token   string
}

// newAPIClient keeps up to clients idle connections, so every concurrent client can reuse
// its own connection instead of dialling again.
func newAPIClient(baseURL, apiKey string, clients int) *apiClient {
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}
	return &apiClient{
		http:    &http.Client{Transport: transport, Timeout: requestTimeout},
		baseURL: baseURL,
		apiKey:  apiKey,
	}
}

// signIn registers a user with a random password, keeps a bearer token for it and returns the
// user's id.
func (a *apiClient) signIn(ctx context.Context) (string, error) {
	creds := map[string]string{"email": "bench@example.com", "password": rand.Text()}
	var user struct {
		ID string `json:"_id"`
	}
	if err := a.call(ctx, http.MethodPost, "/auth/register", creds, http.StatusCreated, &user); err != nil {
		return "", err
	}
	var token struct {
		Token string `json:"token"`
	}
	if err := a.call(ctx, http.MethodPost, "/auth/token", creds, http.StatusOK, &token); err != nil {
		return "", err
	}
	a.token = token.Token
	return user.ID, nil
}

// call sends in as JSON and decodes the answer into out (if not nil), which must come with
// status want.
func (a *apiClient) call(ctx context.Context, method, path string, in any, want int, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := a.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if err := expect(resp, want, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// do sends one request with the API key (if any), the bearer token (once signed in) and, if body is
// not nil, body as JSON.
func (a *apiClient) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	if body == nil {
		return a.send(ctx, method, path, "", nil)
	}
	return a.send(ctx, method, path, "application/json", bytes.NewReader(body))
}

// send sends one request like do, with a body of any type read from body as it goes (none
// when body is nil), so large uploads are never held in memory.
func (a *apiClient) send(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.baseURL+path, body)
	if err != nil {
		return nil, err
	}
	if a.apiKey != "" {
		req.Header.Set("X-API-Key", a.apiKey)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return a.http.Do(req)
}

// expect reads and closes resp's body, checks its status and decodes it into out if out is
// not nil. Reading the whole body lets the connection be reused.
func expect(resp *http.Response, want int, out any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		const maxShown = 200
		if len(body) > maxShown {
			body = body[:maxShown]
		}
		return fmt.Errorf("status %d, want %d: %s", resp.StatusCode, want, bytes.TrimSpace(body))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}
