package coreapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaSettings holds the settings changed at runtime through the admin port. They override
// the configuration, and every replica follows them within seconds without a restart.
const metaSettings = "_settings"

// settingsReloadInterval is the safety net behind the settings events: a replica that missed
// one (at-most-once delivery) still converges.
const settingsReloadInterval = 10 * time.Second

// storedSettings is the settings document. Only the rotated API key's digest is stored.
// RotatedFrom records which configured key was in force when it was rotated: if the operator
// later configures a different key (a new Docker secret), the configuration wins again.
type storedSettings struct {
	APIKeyDigest   string   `bson:"apiKeyDigest,omitempty"`
	RotatedFrom    string   `bson:"rotatedFrom,omitempty"`
	RotatedAt      string   `bson:"rotatedAt,omitempty"`
	CORSOrigins    []string `bson:"corsOrigins"`
	CORSOriginsSet bool     `bson:"corsOriginsSet"`

	// Quotas set at runtime (see quotas.go).
	Quotas storedQuotas `bson:"quotas"`
}

// liveSettings are the settings a replica applies right now.
type liveSettings struct {
	coll       docstore.Collection
	configured [sha256.Size]byte
	defaults   []string
	loopback   bool
	siteHost   string
	apiKey     *secret
	origins    atomic.Pointer[originSet]
	stored     atomic.Pointer[storedSettings]
	// defaultQuotas are the configured quotas, before the stored settings override them.
	defaultQuotas Quotas
}

type originSet struct {
	list    []string
	allowed map[string]bool
}

// newOriginSet normalises origins; ones that are not origins at all can only come from the
// configuration (the admin API refuses them) and are kept as written, matching nothing.
func newOriginSet(list []string) *originSet {
	set := &originSet{list: []string{}, allowed: map[string]bool{}}
	for _, o := range list {
		if n, err := normalizeOrigin(o); err == nil {
			o = n
		}
		if !set.allowed[o] {
			set.allowed[o] = true
			set.list = append(set.list, o)
		}
	}
	return set
}

func newLiveSettings(store docstore.Store, cfg Config) *liveSettings {
	ls := &liveSettings{coll: store.Collection(metaSettings), configured: sha256.Sum256([]byte(cfg.APIKey)),
		defaults: cfg.CORSOrigins, loopback: cfg.AllowLoopbackOrigins, siteHost: cfg.SiteHost, apiKey: newSecret(cfg.APIKey), defaultQuotas: *cfg.Quotas}
	ls.origins.Store(newOriginSet(cfg.CORSOrigins))
	ls.stored.Store(&storedSettings{})
	return ls
}

func (ls *liveSettings) originAllowed(origin string) bool {
	return ls.origins.Load().allowed[origin] || (ls.loopback && ls.isLoopbackOrigin(origin))
}

// isLoopbackOrigin reports whether origin is plain http on an address that always means this
// machine, or on the backend's own site host. Any other *.localhost is refused: under backpack
// dev it is another backend's site (or the panel), whose scripts must not call this backend
// with its users' cookies.
func (ls *liveSettings) isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || (ls.siteHost != "" && h == ls.siteHost)
}

// isLoopbackName reports whether host is localhost or a name under it, which always resolve to
// this machine.
func isLoopbackName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") && !strings.ContainsAny(host, ":/[] ")
}

// reload reads the stored settings and applies them.
func (ls *liveSettings) reload(ctx context.Context) error {
	var st storedSettings
	err := findOne(ctx, ls.coll, bson.D{{Key: "_id", Value: "settings"}}, docstore.FindOptions{}, &st)
	if err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("load settings: %w", err)
	}
	digest := ls.configured
	if st.APIKeyDigest != "" && st.RotatedFrom == hex.EncodeToString(ls.configured[:]) {
		if d, err := hex.DecodeString(st.APIKeyDigest); err == nil && len(d) == sha256.Size {
			copy(digest[:], d)
		}
	}
	ls.apiKey.setDigest(digest)
	if st.CORSOriginsSet {
		ls.origins.Store(newOriginSet(st.CORSOrigins))
	} else {
		ls.origins.Store(newOriginSet(ls.defaults))
	}
	ls.stored.Store(&st)
	return nil
}

// rotateAPIKey makes a new key, stores its digest and returns it; the old key stops working
// on this replica at once and on the others when they receive the settings event.
func (ls *liveSettings) rotateAPIKey(ctx context.Context) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new API key: %w", err)
	}
	key := base64.RawURLEncoding.EncodeToString(b)
	digest := sha256.Sum256([]byte(key))
	err := ls.update(ctx, bson.D{
		{Key: "apiKeyDigest", Value: hex.EncodeToString(digest[:])},
		{Key: "rotatedFrom", Value: hex.EncodeToString(ls.configured[:])},
		{Key: "rotatedAt", Value: timestamp()},
	})
	return key, err
}

func (ls *liveSettings) setOrigins(ctx context.Context, origins []string) error {
	return ls.update(ctx, bson.D{{Key: "corsOrigins", Value: newOriginSet(origins).list}, {Key: "corsOriginsSet", Value: true}})
}

func (ls *liveSettings) update(ctx context.Context, set bson.D) error {
	_, err := ls.coll.Update(ctx, bson.D{{Key: "_id", Value: "settings"}}, docstore.Change{Set: set, Upsert: true})
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return ls.reload(ctx)
}

// normalizeOrigin turns an origin into the exact form browsers send in the Origin header —
// lower-case scheme and host, no default port, no trailing slash — so a stored origin can be
// compared as a string. Anything that is not an origin (a path, a query, a fragment, user
// info, a wildcard, a colon without a port, a port that is not 1 to 65535) is refused rather
// than stored in a form that would never match.
func normalizeOrigin(o string) (string, error) {
	refuse := httpapi.BadRequest("invalid_origin", fmt.Sprintf("%q is not an origin; write it as https://host[:port]", o))
	if strings.ContainsAny(o, "?#*\\ ") {
		return "", refuse
	}
	u, err := url.Parse(o)
	if err != nil || u.User != nil || u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return "", refuse
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if (scheme != "http" && scheme != "https") || host == "" {
		return "", refuse
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", refuse
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return "", refuse
		}
		port = strconv.FormatUint(n, 10)
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host, nil
}

// watchSettings keeps this replica's settings current: on every settings event and, as a
// safety net, every settingsReloadInterval.
func (s *Server) watchSettings(ctx context.Context, kick <-chan struct{}) {
	t := time.NewTicker(settingsReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		if err := s.reloadSettings(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reload settings", "err", err)
		}
	}
}

type settingsJSON struct {
	CORSOrigins     []string `json:"corsOrigins"`
	APIKeyRotatedAt string   `json:"apiKeyRotatedAt,omitempty"`
	APIKey          string   `json:"apiKey,omitempty"`

	// Quotas in force and the usage they are measured against.
	Quotas Quotas      `json:"quotas"`
	Usage  *quotaUsage `json:"usage,omitempty"`
}

// settingsView is the settings as the admin API shows them. The usage is measured too; if that
// fails the view comes without it, with the error.
func (s *Server) settingsView(ctx context.Context) (settingsJSON, error) {
	view := settingsJSON{CORSOrigins: s.settings.origins.Load().list, Quotas: s.settings.quotas()}
	if st := s.settings.stored.Load(); st.RotatedFrom == hex.EncodeToString(s.settings.configured[:]) {
		view.APIKeyRotatedAt = st.RotatedAt
	}
	usage, err := s.usage(ctx)
	if err != nil {
		return view, err
	}
	view.Usage = &usage
	return view, nil
}

func (s *Server) handleGetSettings(c echo.Context) error {
	view, err := s.settingsView(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

type settingsPatch struct {
	CORSOrigins  *[]string `json:"corsOrigins"`
	RotateAPIKey bool      `json:"rotateApiKey"`

	// Quotas changes the quotas sent and leaves the others.
	Quotas *quotasPatch `json:"quotas"`
}

// handlePatchSettings changes the CORS origins and/or the quotas and/or rotates the API key;
// the new key is in the answer and nowhere else.
func (s *Server) handlePatchSettings(c echo.Context) error {
	var req settingsPatch
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.CORSOrigins == nil && !req.RotateAPIKey && req.Quotas == nil {
		return httpapi.BadRequest("invalid_request", "send corsOrigins, quotas, rotateApiKey or several of them")
	}
	ctx := c.Request().Context()
	if req.Quotas != nil {
		if err := req.Quotas.validate(); err != nil {
			return err
		}
	}
	if req.CORSOrigins != nil {
		for _, o := range *req.CORSOrigins {
			if _, err := normalizeOrigin(o); err != nil {
				return err
			}
		}
		if err := s.settings.setOrigins(ctx, *req.CORSOrigins); err != nil {
			return err
		}
	}
	if req.Quotas != nil {
		if err := s.settings.setQuotas(ctx, *req.Quotas); err != nil {
			return err
		}
	}
	var key string
	if req.RotateAPIKey {
		var err error
		if key, err = s.settings.rotateAPIKey(ctx); err != nil {
			return err
		}
	}
	s.publish(ctx, event{Kind: kindSettings, Action: "update"})
	// The changes are made (a rotated key exists nowhere else but in this answer): a failure to
	// measure the usage only leaves it out.
	view, err := s.settingsView(ctx)
	if err != nil {
		s.log.Warn("measure usage for the settings answer", "err", err)
	}
	view.APIKey = key
	return c.JSON(http.StatusOK, view)
}
