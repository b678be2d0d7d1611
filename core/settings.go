package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaSettings holds the settings changed at runtime through the admin port. They override
// the configuration, and every replica follows them within seconds without a restart.
const metaSettings = "_settings"

// storedSettings is the settings document. Only the rotated API key's digest is stored.
// RotatedFrom records which configured key was in force when it was rotated: if the operator
// later configures a different key (a new Docker secret), the configuration wins again.
type storedSettings struct {
	APIKeyDigest string `bson:"apiKeyDigest,omitempty"`
	RotatedFrom  string `bson:"rotatedFrom,omitempty"`
	RotatedAt    string `bson:"rotatedAt,omitempty"`
	// The key in force before the last rotation (its digest) and until when it still works
	// (RFC 3339); empty when the rotation revoked it.
	PreviousKeyDigest string   `bson:"previousKeyDigest,omitempty"`
	PreviousKeyUntil  string   `bson:"previousKeyUntil,omitempty"`
	CORSOrigins       []string `bson:"corsOrigins"`
	CORSOriginsSet    bool     `bson:"corsOriginsSet"`

	// Quotas set at runtime (see quotas.go).
	Quotas storedQuotas `bson:"quotas"`

	// FunctionFetchHosts are the hosts functions' ctx.fetch may reach (none by default).
	FunctionFetchHosts []string `bson:"functionFetchHosts"`
}

// Settings are the settings a replica applies right now.
type Settings struct {
	coll       docstore.Collection
	configured [sha256.Size]byte
	defaults   []string
	loopback   bool
	siteHost   string
	apiKey     *Secret
	previous   atomic.Pointer[previousKey] // nil when no previous key works
	overlap    time.Duration               // how long the previous key works after a rotation
	keyReloads keyReloads
	reloadMu   sync.Mutex // one Reload at a time, so an older read never overwrites a newer
	log        *slog.Logger
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
		if n, err := NormalizeOrigin(o); err == nil {
			o = n
		}
		if !set.allowed[o] {
			set.allowed[o] = true
			set.list = append(set.list, o)
		}
	}
	return set
}

func newSettings(store docstore.Store, cfg Config) *Settings {
	ls := &Settings{coll: store.Collection(metaSettings), configured: sha256.Sum256([]byte(cfg.APIKey)),
		defaults: cfg.CORSOrigins, loopback: cfg.AllowLoopbackOrigins, siteHost: cfg.SiteHost, apiKey: NewSecret(cfg.APIKey), defaultQuotas: cfg.Quotas,
		overlap: cfg.APIKeyOverlap, log: cfg.Logger}
	if ls.overlap <= 0 {
		ls.overlap = DefaultAPIKeyOverlap
	}
	ls.origins.Store(newOriginSet(cfg.CORSOrigins))
	ls.stored.Store(&storedSettings{})
	return ls
}

// OriginAllowed reports whether a browser origin may call the backend.
func (ls *Settings) OriginAllowed(origin string) bool {
	return ls.origins.Load().allowed[origin] || (ls.loopback && ls.isLoopbackOrigin(origin))
}

// isLoopbackOrigin reports whether origin is plain http on an address that always means this
// machine, or on the backend's own site host. Any other *.localhost is refused: under backpack
// dev it is another backend's site (or the panel), whose scripts must not call this backend
// with its users' cookies.
func (ls *Settings) isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || (ls.siteHost != "" && h == ls.siteHost)
}

// Reload reads the stored settings and applies them.
func (ls *Settings) Reload(ctx context.Context) error {
	ls.reloadMu.Lock()
	defer ls.reloadMu.Unlock()
	var st storedSettings
	err := findOne(ctx, ls.coll, bson.D{{Key: "_id", Value: "settings"}}, docstore.FindOptions{}, &st)
	if err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("load settings: %w", err)
	}
	digest := ls.configured
	rotated := st.APIKeyDigest != "" && st.RotatedFrom == hex.EncodeToString(ls.configured[:])
	if rotated {
		if d, err := hex.DecodeString(st.APIKeyDigest); err == nil && len(d) == sha256.Size {
			copy(digest[:], d)
		}
	}
	ls.apiKey.setDigest(digest)
	ls.loadPreviousKey(st, rotated)
	if st.CORSOriginsSet {
		ls.origins.Store(newOriginSet(st.CORSOrigins))
	} else {
		ls.origins.Store(newOriginSet(ls.defaults))
	}
	ls.stored.Store(&st)
	return nil
}

// FetchHosts are the hosts functions may fetch from, as host or host:port in lower case.
func (ls *Settings) FetchHosts() []string {
	if st := ls.stored.Load(); st != nil {
		return st.FunctionFetchHosts
	}
	return nil
}

// MaxFetchHosts bounds the list of hosts functions may fetch from.
const MaxFetchHosts = 100

// normalizeFetchHost checks one entry of functionFetchHosts: a host name or address, with a
// port or not, nothing else; it is compared in lower case.
func normalizeFetchHost(h string) (string, error) {
	refuse := invalid("invalid_host", fmt.Sprintf("%q is not a host; write it as api.example.com or api.example.com:8443", h))
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" || strings.ContainsAny(h, "/?#@*\\ ") {
		return "", refuse
	}
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "", refuse
		}
		host = hh
	}
	if host == "" || strings.ContainsAny(host, ":") && net.ParseIP(host) == nil {
		return "", refuse
	}
	return h, nil
}

// rotateAPIKey makes chosen (or, when it is "", a new random key) the key in force, stores its
// digest and returns it. The new key works on every replica at once (see CheckAPIKey). The old
// one keeps working for the overlap, unless revokePrevious: then it stops on this replica at
// once and on the others when they receive the settings event.
//
// A chosen key already in force changes nothing (but revokePrevious still applies): the
// control plane keeps the key it chose before sending it, and sends it again when it cannot
// tell whether an interrupted rotation reached the backend.
func (ls *Settings) rotateAPIKey(ctx context.Context, chosen string, revokePrevious bool) (string, error) {
	key := chosen
	if key == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("new API key: %w", err)
		}
		key = base64.RawURLEncoding.EncodeToString(b)
	}
	digest := sha256.Sum256([]byte(key))
	// The key in force is the stored one, which another replica may have rotated lately.
	if err := ls.Reload(ctx); err != nil {
		return "", err
	}
	if chosen != "" && *ls.apiKey.digest.Load() == digest {
		if revokePrevious {
			return key, ls.revokePreviousKey(ctx)
		}
		return key, nil
	}
	previous, until := "", ""
	if !revokePrevious {
		inForce := *ls.apiKey.digest.Load()
		previous, until = hex.EncodeToString(inForce[:]), time.Now().Add(ls.overlap).UTC().Format(time.RFC3339Nano)
	}
	err := ls.update(ctx, bson.D{
		{Key: "apiKeyDigest", Value: hex.EncodeToString(digest[:])},
		{Key: "rotatedFrom", Value: hex.EncodeToString(ls.configured[:])},
		{Key: "rotatedAt", Value: Timestamp()},
		{Key: "previousKeyDigest", Value: previous},
		{Key: "previousKeyUntil", Value: until},
	})
	return key, err
}

// revokePreviousKey ends the previous key's overlap now.
func (ls *Settings) revokePreviousKey(ctx context.Context) error {
	return ls.update(ctx, bson.D{{Key: "previousKeyDigest", Value: ""}, {Key: "previousKeyUntil", Value: ""}})
}

func (ls *Settings) setOrigins(ctx context.Context, origins []string) error {
	return ls.update(ctx, bson.D{{Key: "corsOrigins", Value: newOriginSet(origins).list}, {Key: "corsOriginsSet", Value: true}})
}

func (ls *Settings) update(ctx context.Context, set bson.D) error {
	_, err := ls.coll.Update(ctx, bson.D{{Key: "_id", Value: "settings"}}, docstore.Change{Set: set, Upsert: true})
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return ls.Reload(ctx)
}

// NormalizeOrigin turns an origin into the exact form browsers send in the Origin header —
// lower-case scheme and host, no default port, no trailing slash — so a stored origin can be
// compared as a string. Anything that is not an origin (a path, a query, a fragment, user
// info, a wildcard, a colon without a port, a port that is not 1 to 65535) is refused rather
// than stored in a form that would never match.
func NormalizeOrigin(o string) (string, error) {
	refuse := invalid("invalid_origin", fmt.Sprintf("%q is not an origin; write it as https://host[:port]", o))
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

// SettingsView is the settings as the admin API shows them.
type SettingsView struct {
	CORSOrigins     []string `json:"corsOrigins"`
	APIKeyRotatedAt string   `json:"apiKeyRotatedAt,omitempty"`
	// PreviousAPIKeyValidUntil is when the key in force before the last rotation stops
	// working; absent when it no longer works.
	PreviousAPIKeyValidUntil string `json:"previousApiKeyValidUntil,omitempty"`
	// APIKey is a key just rotated, shown once, in the answer to the rotation.
	APIKey string `json:"apiKey,omitempty"`

	// Quotas in force and the usage they are measured against.
	Quotas Quotas      `json:"quotas"`
	Usage  *QuotaUsage `json:"usage,omitempty"`

	// FunctionFetchHosts are the hosts functions' ctx.fetch may reach.
	FunctionFetchHosts []string `json:"functionFetchHosts"`
}

// ViewSettings is the settings as the admin API shows them. The usage is measured too; if
// that fails the view comes without it, with the error.
func (s *Service) ViewSettings(ctx context.Context) (SettingsView, error) {
	view := SettingsView{CORSOrigins: s.settings.origins.Load().list, Quotas: s.settings.Quotas(), FunctionFetchHosts: s.settings.FetchHosts()}
	if view.FunctionFetchHosts == nil {
		view.FunctionFetchHosts = []string{}
	}
	if st := s.settings.stored.Load(); st.RotatedFrom == hex.EncodeToString(s.settings.configured[:]) {
		view.APIKeyRotatedAt = st.RotatedAt
	}
	view.PreviousAPIKeyValidUntil = s.settings.previousKeyUntil()
	usage, err := s.usage(ctx)
	if err != nil {
		return view, err
	}
	view.Usage = &usage
	return view, nil
}

// SettingsPatch is a change of the runtime settings: the fields sent change, the others stay.
type SettingsPatch struct {
	CORSOrigins  *[]string `json:"corsOrigins"`
	RotateAPIKey bool      `json:"rotateApiKey"`
	// APIKey, with RotateAPIKey, is the new key, chosen by the control plane and kept there
	// before it is sent, so that a rotation interrupted on either side is completed by sending
	// the same key again; without it the backend makes the key.
	APIKey string `json:"apiKey"`
	// RevokePrevious stops the key in force before the rotation at once instead of after the
	// overlap (a leaked key); sent alone, it ends the overlap of the last rotation now.
	RevokePrevious bool `json:"revokePrevious"`

	// Quotas changes the quotas sent and leaves the others.
	Quotas *QuotasPatch `json:"quotas"`

	// FunctionFetchHosts replaces the hosts functions may fetch from.
	FunctionFetchHosts *[]string `json:"functionFetchHosts"`
}

// UpdateSettings changes the CORS origins and/or the quotas and/or rotates the API key, tells
// every replica, and returns the settings with the new key, which is in that answer and
// nowhere else.
func (s *Service) UpdateSettings(ctx context.Context, p SettingsPatch) (SettingsView, error) {
	if err := validChosenKey(p); err != nil {
		return SettingsView{}, err
	}
	if p.CORSOrigins == nil && !p.RotateAPIKey && !p.RevokePrevious && p.Quotas == nil && p.FunctionFetchHosts == nil {
		return SettingsView{}, invalid("invalid_request", "send corsOrigins, quotas, functionFetchHosts, rotateApiKey, revokePrevious or several of them")
	}
	var fetchHosts []string
	if p.FunctionFetchHosts != nil {
		if len(*p.FunctionFetchHosts) > MaxFetchHosts {
			return SettingsView{}, invalid("invalid_request", fmt.Sprintf("at most %d function fetch hosts", MaxFetchHosts))
		}
		fetchHosts = []string{}
		for _, h := range *p.FunctionFetchHosts {
			n, err := normalizeFetchHost(h)
			if err != nil {
				return SettingsView{}, err
			}
			if !slices.Contains(fetchHosts, n) {
				fetchHosts = append(fetchHosts, n)
			}
		}
	}
	if p.Quotas != nil {
		if err := p.Quotas.validate(); err != nil {
			return SettingsView{}, err
		}
	}
	if p.CORSOrigins != nil {
		for _, o := range *p.CORSOrigins {
			if _, err := NormalizeOrigin(o); err != nil {
				return SettingsView{}, err
			}
		}
		if err := s.settings.setOrigins(ctx, *p.CORSOrigins); err != nil {
			return SettingsView{}, err
		}
	}
	if fetchHosts != nil {
		if err := s.settings.update(ctx, bson.D{{Key: "functionFetchHosts", Value: fetchHosts}}); err != nil {
			return SettingsView{}, err
		}
	}
	if p.Quotas != nil {
		if err := s.settings.setQuotas(ctx, *p.Quotas); err != nil {
			return SettingsView{}, err
		}
	}
	var key string
	if p.RotateAPIKey {
		var err error
		if key, err = s.settings.rotateAPIKey(ctx, p.APIKey, p.RevokePrevious); err != nil {
			return SettingsView{}, err
		}
	} else if p.RevokePrevious {
		if err := s.settings.revokePreviousKey(ctx); err != nil {
			return SettingsView{}, err
		}
	}
	s.Publish(ctx, Event{Kind: KindSettings, Action: "update"})
	// The changes are made (a rotated key exists nowhere else but in this answer): a failure to
	// measure the usage only leaves it out.
	view, err := s.ViewSettings(ctx)
	if err != nil {
		s.log.Warn("measure usage for the settings answer", "err", err)
	}
	view.APIKey = key
	return view, nil
}

// Bounds of a chosen API key: long enough to be as hard to guess as the keys the backend
// makes (32 random bytes, 43 characters), short enough for a header.
const (
	minChosenKeyLen = 43
	maxChosenKeyLen = 256
)

// validChosenKey refuses a chosen key sent without rotateApiKey, or one that is short, long,
// or has characters other than URL-safe base64's (it travels in headers and query strings).
func validChosenKey(p SettingsPatch) error {
	if p.APIKey == "" {
		return nil
	}
	if !p.RotateAPIKey {
		return invalidChosenKey("apiKey is the new key of a rotation: send it with rotateApiKey: true")
	}
	if len(p.APIKey) < minChosenKeyLen || len(p.APIKey) > maxChosenKeyLen {
		return invalidChosenKey(fmt.Sprintf("apiKey must be %d to %d characters long", minChosenKeyLen, maxChosenKeyLen))
	}
	for _, r := range p.APIKey {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return invalidChosenKey("apiKey may hold only letters, digits, - and _")
		}
	}
	return nil
}

func invalidChosenKey(message string) *Error {
	return &Error{Kind: Invalid, Code: "invalid_request", Message: message, Details: map[string]any{"field": "apiKey"}}
}
