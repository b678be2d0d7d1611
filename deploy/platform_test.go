// Package deploy_test runs the platform stack (deploy/platform.yml) on the local Swarm as an
// operator deploys it, with Traefik in front and certificates from Pebble, the test ACME CA
// (deploy/platform.pebble.yml), and drives the whole life of backends through the edge users
// reach: https://admin.DOMAIN, https://NAME-be.DOMAIN, wss://…/ws, https://NAME.DOMAIN. The
// harness is internal/platformtest.
package deploy_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerswarm "github.com/docker/docker/api/types/swarm"
)

// testEdge checks what Traefik and Pebble give the platform before any backend exists:
// plain HTTP redirected to HTTPS on every name, the panel over HTTP/2 with a certificate Pebble
// issued for admin.DOMAIN, and nothing answering for unknown names or private paths.
func testEdge(t *testing.T, p *platformtest.Platform) {
	noRedirect := p.Client(nil)
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, host := range []string{"admin." + p.Domain, "shop." + p.Domain, "shop-be." + p.Domain, "unknown." + p.Domain} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/some/path?q=1", nil)
		a := platformtest.Do(t, noRedirect, req)
		if a.Status != http.StatusMovedPermanently && a.Status != http.StatusPermanentRedirect {
			t.Errorf("http://%s: %d, want a permanent redirect", host, a.Status)
		}
		if loc := a.Header.Get("Location"); !strings.HasPrefix(loc, "https://"+host) || !strings.HasSuffix(loc, "/some/path?q=1") {
			t.Errorf("http://%s redirects to %q", host, loc)
		}
	}

	page := p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/", nil))
	if page.Proto != "HTTP/2.0" {
		t.Errorf("the panel came over %s, want HTTP/2.0", page.Proto)
	}
	requireCertificate(t, page.TLS, "admin."+p.Domain)

	// Traefik answers 404 for a name no router has (with its own default certificate, which a
	// client that trusts only Pebble's root refuses) and for the control plane's metrics.
	insecure := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: p.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // to see past Traefik's default certificate
	if _, err := p.Client(nil).Get("https://unknown." + p.Domain + "/"); err == nil {
		t.Error("an unknown name got a certificate Pebble's root vouches for")
	}
	req, _ := http.NewRequest(http.MethodGet, "https://unknown."+p.Domain+"/", nil)
	if a := platformtest.Do(t, insecure, req); a.Status != http.StatusNotFound {
		t.Errorf("unknown name: %d %s, want 404", a.Status, a.Body)
	}
	if a := p.Send(http.MethodGet, "/metrics", nil); a.Status != http.StatusNotFound {
		t.Errorf("https://admin.%s/metrics: %d, want 404 (metrics are for the overlay network, not the internet)", p.Domain, a.Status)
	}
}

// requireCertificate fails unless the connection was verified against Pebble's root (the
// client trusts nothing else) with a certificate for name.
func requireCertificate(t *testing.T, state *tls.ConnectionState, name string) {
	t.Helper()
	if state == nil || len(state.VerifiedChains) == 0 {
		t.Fatalf("%s: no verified TLS connection", name)
	}
	leaf := state.PeerCertificates[0]
	if !slices.Contains(leaf.DNSNames, name) {
		t.Errorf("%s: certificate for %v", name, leaf.DNSNames)
	}
	if !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("%s: certificate issued by %q, want Pebble", name, leaf.Issuer.CommonName)
	}
}

func services(t testing.TB, p *platformtest.Platform, name string) []string {
	t.Helper()
	list, err := p.Cli.ServiceList(context.Background(), dockerswarm.ServiceListOptions{
		Filters: filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+name))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, s.Spec.Name)
	}
	return out
}

// killControlPlane kills the control plane's containers (SIGKILL: no graceful shutdown); Swarm
// starts a new task.
func killControlPlane(t testing.TB, p *platformtest.Platform) {
	t.Helper()
	ctx := context.Background()
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+platformtest.Stack+"_controlplane"))})
	if err != nil || len(list) == 0 {
		t.Fatalf("control plane container: %v %v", list, err)
	}
	for _, c := range list {
		if err := p.Cli.ContainerKill(ctx, c.ID, "KILL"); err != nil {
			t.Fatal(err)
		}
	}
}
