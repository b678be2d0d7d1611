package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// Rotating a backend's API key survives a stop anywhere. The control plane chooses the new
// key and stores it, sealed, as the rotation under way before it asks the backend to switch
// to it; only once the backend has answered does the key become the one the panel shows.
// Whatever stops in between (this process, the backend, the network), the backend either never
// got the key, and keeps the one the panel shows, or got it while the control plane still has
// it: the leader's reconciler sends the same key again, which changes nothing on a backend that
// already has it, and stores it once the backend has answered. One rotation per backend is
// under way at a time.

// rotationCallTimeout bounds the backend's answer to a rotation.
const rotationCallTimeout = 10 * time.Second

// interruptedRotationAfter is how long a rotation may be under way before the reconciler takes
// it for one whose caller stopped, and completes it; more than a rotation can take.
const interruptedRotationAfter = 2 * rotationCallTimeout

// rotateKeyBody is the optional body of a rotation.
type rotateKeyBody struct {
	// RevokePrevious stops the old key at once (a leaked key) instead of after the overlap.
	RevokePrevious bool `json:"revokePrevious"`
}

// keyRotationAnswer is the part of the backend's answer to a rotation the control plane uses,
// and its own answer.
type keyRotationAnswer struct {
	APIKey                   string `json:"apiKey"`
	PreviousAPIKeyValidUntil string `json:"previousApiKeyValidUntil,omitempty"`
}

// how says what became of the old key.
func (a keyRotationAnswer) how() string {
	if a.PreviousAPIKeyValidUntil == "" {
		return "the old key is revoked"
	}
	return "the old key works until " + a.PreviousAPIKeyValidUntil
}

// rotateAPIKey rotates the backend's key to one the control plane chose and keeps, sealed, so
// the panel can show it. The new key works on every replica as soon as this answers; the old
// one keeps working for the backend's overlap (10 s by default), or stops within seconds with
// revokePrevious.
func (s *Server) rotateAPIKey(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	var req rotateKeyBody
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	// A backend that does not run is refused before anything is under way.
	if err := serving(b); err != nil {
		return err
	}
	key := randomToken()
	pending := s.sealAPIKey(b.Name, key)
	if err := s.store.BeginKeyRotation(ctx, b.Name, pending, req.RevokePrevious, time.Now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			c.Response().Header().Set("Retry-After", "5")
			return &httpapi.Error{Status: http.StatusConflict, Code: "rotation_in_progress",
				Message: "another rotation of this backend's API key is under way (or being completed after an interruption); try again in a few seconds"}
		}
		return err
	}
	// From here the rotation runs to its end even if the client leaves.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rotationCallTimeout)
	defer cancel()
	out, refusal, err := s.sendKeyRotation(rctx, b, key, req.RevokePrevious)
	switch {
	case err != nil:
		s.record(ctx, b, "error", fmt.Sprintf("API key rotation by %s: no answer from the backend (%v); the control plane completes it once the backend answers", developer(c).Email, err))
		return err
	case refusal != nil && refusal.StatusCode < http.StatusInternalServerError:
		// The backend refused: its key did not change.
		if err := s.store.AbandonKeyRotation(rctx, b.Name, pending); err != nil && !errors.Is(err, store.ErrStale) {
			s.log.Warn("abandon a refused key rotation", "backend", b.Name, "err", err)
		}
		return relay(c, refusal)
	case refusal != nil:
		s.record(ctx, b, "error", fmt.Sprintf("API key rotation by %s: the backend answered %d; the control plane completes it once the backend answers", developer(c).Email, refusal.StatusCode))
		return relay(c, refusal)
	}
	if err := s.storeRotatedKey(rctx, b, pending, out.APIKey); err != nil {
		return err
	}
	s.record(ctx, b, "progress", "API key rotated by "+developer(c).Email+"; "+out.how())
	return c.JSON(http.StatusOK, out)
}

// sendKeyRotation asks the backend to make key its API key. A non-nil refusal is the backend's
// answer when it was not 200 (the caller closes it): below 500 the backend refused, and its key
// did not change. An error, or a refusal of 500 and above, leaves it unknown whether the key
// changed.
func (s *Server) sendKeyRotation(ctx context.Context, b store.Backend, key string, revoke bool) (out keyRotationAnswer, refusal *http.Response, err error) {
	type patch struct {
		RotateAPIKey   bool   `json:"rotateApiKey"`
		APIKey         string `json:"apiKey,omitempty"`
		RevokePrevious bool   `json:"revokePrevious,omitempty"`
	}
	resp, err := s.patchBackendSettings(ctx, b, patch{RotateAPIKey: true, APIKey: key, RevokePrevious: revoke})
	if err != nil {
		return out, nil, err
	}
	if resp.StatusCode == http.StatusBadRequest {
		// A backend on a release from before chosen keys makes the key itself; the answer
		// carries it. Such a rotation is not safe from a stop before its answer is stored.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if !bytes.Contains(body, []byte(`unknown field \"apiKey\"`)) {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return out, resp, nil
		}
		if resp, err = s.patchBackendSettings(ctx, b, patch{RotateAPIKey: true, RevokePrevious: revoke}); err != nil {
			return out, nil, err
		}
	}
	if resp.StatusCode != http.StatusOK {
		return out, resp, nil
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.APIKey == "" {
		return out, nil, fmt.Errorf("rotate API key of %s: unreadable answer from the backend: %v", b.Name, err)
	}
	return out, nil, nil
}

// patchBackendSettings sends PATCH /admin/settings to the backend with body.
func (s *Server) patchBackendSettings(ctx context.Context, b store.Backend, body any) (*http.Response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return s.callAdmin(ctx, b, http.MethodPatch, "/admin/settings", echo.MIMEApplicationJSON, bytes.NewReader(raw), int64(len(raw)))
}

// storeRotatedKey makes key, which the backend now has, the key the control plane shows, and
// ends the rotation begun with pending. If another caller ended it first (the reconciler
// completing the same rotation), the stored key must be this one.
func (s *Server) storeRotatedKey(ctx context.Context, b store.Backend, pending []byte, key string) error {
	err := s.store.FinishKeyRotation(ctx, b.Name, pending, s.sealAPIKey(b.Name, key), time.Now())
	if !errors.Is(err, store.ErrStale) {
		if err != nil {
			return fmt.Errorf("store rotated API key of %s: %w", b.Name, err)
		}
		s.changed(ctx, b.Name)
		return nil
	}
	now, err := s.store.Backend(ctx, b.Name)
	if err != nil {
		return fmt.Errorf("store rotated API key of %s: %w", b.Name, err)
	}
	if stored, _, err := s.backendSecrets(now); err != nil || stored != key {
		return fmt.Errorf("store rotated API key of %s: another rotation ended this one", b.Name)
	}
	return nil
}

// completeRotation ends a rotation its caller did not: it sends the rotation's key again and
// stores it once the backend has answered; if the backend refuses it, the key stays as it was.
func (r *reconciler) completeRotation(ctx context.Context, b store.Backend) error {
	r.mu.Lock()
	r.keyTried[b.Name] = time.Now()
	r.mu.Unlock()
	key, err := r.s.cfg.Secrets.Open(b.PendingAPIKey, apiKeyAD(b.Name))
	if err != nil {
		// Sealed with a secret this control plane does not have: nothing can complete it.
		if err := r.s.store.AbandonKeyRotation(ctx, b.Name, b.PendingAPIKey); err != nil && !errors.Is(err, store.ErrStale) {
			return err
		}
		r.s.record(ctx, b, "error", "an interrupted API key rotation could not be completed (its key cannot be unsealed); the key shown is unchanged")
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, rotationCallTimeout)
	defer cancel()
	out, refusal, err := r.s.sendKeyRotation(rctx, b, string(key), b.PendingKeyRevoke)
	if err != nil {
		return fmt.Errorf("complete the API key rotation of %s: %w", b.Name, err)
	}
	if refusal != nil {
		body, _ := io.ReadAll(io.LimitReader(refusal.Body, 1<<10))
		refusal.Body.Close()
		if refusal.StatusCode >= http.StatusInternalServerError {
			return fmt.Errorf("complete the API key rotation of %s: the backend answered %d %s", b.Name, refusal.StatusCode, bytes.TrimSpace(body))
		}
		if err := r.s.store.AbandonKeyRotation(ctx, b.Name, b.PendingAPIKey); err != nil && !errors.Is(err, store.ErrStale) {
			return err
		}
		r.s.record(ctx, b, "error", fmt.Sprintf("the backend refused the interrupted API key rotation (%d %s); the key shown is unchanged", refusal.StatusCode, bytes.TrimSpace(body)))
		return nil
	}
	if err := r.s.storeRotatedKey(ctx, b, b.PendingAPIKey, out.APIKey); err != nil {
		return err
	}
	r.s.record(ctx, b, "progress", "an interrupted API key rotation is complete: the panel shows the new key; "+out.how())
	return nil
}
