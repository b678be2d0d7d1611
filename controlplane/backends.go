package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
)

// backendJSON is a backend as the contract shows it. The list leaves out apiKey and services.
type backendJSON struct {
	Name      string        `json:"name"`
	State     string        `json:"state"`
	Desired   string        `json:"desired"`
	Owner     string        `json:"owner"`
	CreatedAt string        `json:"createdAt"`
	UpdatedAt string        `json:"updatedAt"`
	APIURL    string        `json:"apiUrl"`
	SiteURL   string        `json:"siteUrl"`
	APIKey    string        `json:"apiKey,omitempty"`
	Node      string        `json:"node"`
	LastError string        `json:"lastError,omitempty"`
	Services  []serviceJSON `json:"services,omitempty"`
	Replicas  replicasJSON  `json:"replicas"`
	// APIImage is the API image the backend last became ready with ("" with a runtime that
	// runs no images); Upgrading says the fleet's present release has not reached it yet.
	APIImage  string `json:"apiImage"`
	Upgrading bool   `json:"upgrading"`
}

// backendDetailJSON is one backend as GET /api/backends/NAME shows it: always with its API key
// and its services, [] when the runtime has none.
type backendDetailJSON struct {
	backendJSON
	APIKey   string             `json:"apiKey"`
	Services []serviceJSON      `json:"services"`
	Backups  backupSettingsJSON `json:"backups"`
}

type serviceJSON struct {
	Name      string `json:"name"`
	Running   int    `json:"running"`
	Desired   int    `json:"desired"`
	Node      string `json:"node,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

func (s *Server) toBackendJSON(b store.Backend, ownerEmail string) backendJSON {
	return backendJSON{Name: b.Name, State: string(b.State), Desired: string(b.Desired), Owner: ownerEmail,
		CreatedAt: rfc3339(b.CreatedAt), UpdatedAt: rfc3339(b.UpdatedAt),
		APIURL: s.cfg.apiURL(b.Name), SiteURL: s.cfg.siteURL(b.Name), Node: b.Node, LastError: b.LastError,
		Replicas: replicasJSON{API: b.APIReplicas}, APIImage: b.APIImage, Upgrading: s.upgrading(b)}
}

// visibleBackend loads a backend the caller may see: their own, or any for the operator.
// Another developer's backend is a 404, exactly like a missing one, so names don't leak.
func (s *Server) visibleBackend(c echo.Context) (store.Backend, error) {
	name := c.Param("name")
	if names.Backend(name) != nil {
		return store.Backend{}, errBackendNotFound
	}
	b, err := s.store.Backend(c.Request().Context(), name)
	if isNotFound(err) {
		return b, errBackendNotFound
	}
	if err != nil {
		return b, err
	}
	if d := developer(c); d.Role != store.RoleOperator && b.OwnerID != d.ID {
		return store.Backend{}, errBackendNotFound
	}
	return b, nil
}

// ownerEmails maps developer ids to emails for the listing's owner field.
func (s *Server) ownerEmails(ctx context.Context, caller store.Developer) (map[string]string, error) {
	if caller.Role != store.RoleOperator {
		return map[string]string{caller.ID: caller.Email}, nil
	}
	devs, err := s.store.ListDevelopers(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(devs))
	for _, d := range devs {
		m[d.ID] = d.Email
	}
	return m, nil
}

func (s *Server) listBackends(c echo.Context) error {
	list, err := s.visibleBackends(c.Request().Context(), developer(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"backends": list, "apiImage": s.releaseImage()})
}

// visibleBackends lists, by name, the backends the caller may see, as the listing shows them.
func (s *Server) visibleBackends(ctx context.Context, caller store.Developer) ([]backendJSON, error) {
	owner := caller.ID
	if caller.Role == store.RoleOperator {
		owner = ""
	}
	list, err := s.store.ListBackends(ctx, owner)
	if err != nil {
		return nil, err
	}
	emails, err := s.ownerEmails(ctx, caller)
	if err != nil {
		return nil, err
	}
	out := make([]backendJSON, len(list))
	for i, b := range list {
		out[i] = s.toBackendJSON(b, emails[b.OwnerID])
	}
	return out, nil
}

type createBackendBody struct {
	Name string `json:"name"`
	// FromBackup makes the new backend a copy of a backup: it is restored into it once the
	// backend first runs.
	FromBackup *fromBackupBody `json:"fromBackup"`
}

type fromBackupBody struct {
	Backend string `json:"backend"`
	ID      string `json:"id"`
}

func (s *Server) createBackend(c echo.Context) error {
	var req createBackendBody
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := names.Backend(req.Name); err != nil {
		return err
	}
	ctx := c.Request().Context()
	caller := developer(c)
	var copyFrom string
	if from := req.FromBackup; from != nil {
		bk, err := s.visibleBackup(ctx, caller, from.Backend, from.ID)
		if err != nil {
			return err
		}
		if bk.State != store.BackupReady {
			return errBackupNotReady
		}
		copyFrom = bk.ID
	}
	if err := s.checkQuota(ctx, caller); err != nil {
		return err
	}
	now := time.Now()
	requested := []store.Event{{At: now, Kind: "state", Message: "create requested by " + caller.Email}}
	if copyFrom != "" {
		requested = append(requested, store.Event{At: now, Kind: "restore",
			Message: fmt.Sprintf("a copy of backup %s of %s: it is restored once the backend runs", copyFrom, req.FromBackup.Backend)})
	}
	b, err := s.store.CreateBackend(ctx, store.Backend{
		Name: req.Name, OwnerID: caller.ID, Desired: store.DesiredRunning, State: store.StateCreating, CopyFrom: copyFrom,
		Volumes:      volumesIncarnation(req.Name),
		SealedAPIKey: s.sealAPIKey(req.Name, randomToken()), SealedAdminTok: s.cfg.Secrets.Seal([]byte(randomToken()), adminTokenAD(req.Name)),
		CreatedAt: now, UpdatedAt: now,
	}, requested...)
	if errors.Is(err, store.ErrConflict) {
		return errNameTaken
	}
	if err != nil {
		return err
	}
	s.recorded(ctx, b, requested...)
	s.reconciler.kick()
	return c.JSON(http.StatusAccepted, s.toBackendJSON(b, s.ownerEmail(ctx, b.OwnerID, caller)))
}

// volumesIncarnation starts the volume names of a new backend: its name and a random part, so
// that no later backend of the same name can attach its volumes, even those a purge could not
// reach on a lost node. A revived backend keeps the one stored (its data).
func volumesIncarnation(name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return name + "_" + hex.EncodeToString(b)
}

func (s *Server) checkQuota(ctx context.Context, caller store.Developer) error {
	if s.cfg.MaxBackendsPerDeveloper == 0 || caller.Role == store.RoleOperator {
		return nil
	}
	list, err := s.store.ListBackends(ctx, caller.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, b := range list {
		if b.State != store.StateDeleted {
			n++
		}
	}
	if n >= s.cfg.MaxBackendsPerDeveloper {
		return &httpapi.Error{Status: http.StatusForbidden, Code: "quota_exceeded",
			Message: "you have as many backends as allowed; delete one or ask the operator",
			Details: map[string]any{"limit": s.cfg.MaxBackendsPerDeveloper}}
	}
	return nil
}

func (s *Server) ownerEmail(ctx context.Context, ownerID string, caller store.Developer) string {
	if ownerID == caller.ID {
		return caller.Email
	}
	d, err := s.store.DeveloperByID(ctx, ownerID)
	if err != nil {
		return ""
	}
	return d.Email
}

func (s *Server) getBackend(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	out := backendDetailJSON{backendJSON: s.toBackendJSON(b, s.ownerEmail(ctx, b.OwnerID, developer(c)))}
	schedule, keep := s.backupSettings(b)
	out.Backups = backupSettingsJSON{Schedule: string(schedule), Keep: keep}
	if out.APIKey, _, err = s.backendSecrets(b); err != nil {
		return err
	}
	if b.State != store.StateDeleted {
		statusCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := s.runtime.Status(statusCtx, b.Name)
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			s.log.WarnContext(ctx, "backend status", "backend", b.Name, "err", err)
		}
		for _, svc := range st.Services {
			out.Services = append(out.Services, serviceJSON(svc))
		}
	}
	if out.Services == nil {
		out.Services = []serviceJSON{}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deleteBackend(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	purge, err := boolParam(c, "purge")
	if err != nil {
		return err
	}
	// Asking again for what is already under way changes nothing: a repeated delete does not
	// restart the operation, and never turns a purge in progress back into keep-data.
	if b.Desired == store.DesiredDeleted && (b.Purge || !purge) {
		return c.JSON(http.StatusAccepted, s.toBackendJSON(b, s.ownerEmail(c.Request().Context(), b.OwnerID, developer(c))))
	}
	ctx := c.Request().Context()
	how := "keeping its data"
	if purge {
		how = "purging its data"
	}
	now := time.Now()
	requested := store.Event{At: now, Kind: "state", Message: "delete requested by " + developer(c).Email + ", " + how}
	b, err = s.store.RequestDelete(ctx, b.Name, purge, now, requested)
	if err != nil {
		return err
	}
	s.recorded(ctx, b, requested)
	s.reconciler.kick()
	return c.JSON(http.StatusAccepted, s.toBackendJSON(b, s.ownerEmail(ctx, b.OwnerID, developer(c))))
}

// boolParam reads an optional boolean query parameter, refusing anything but true/false/1/0.
func boolParam(c echo.Context, name string) (bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_query",
			Message: name + " must be true or false", Details: map[string]any{"field": name}}
	}
	return b, nil
}
