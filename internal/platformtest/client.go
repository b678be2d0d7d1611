package platformtest

import (
	"archive/tar"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/gorilla/websocket"
)

// The host ports Traefik publishes (deploy/platform.yml's defaults).
const (
	HTTPPort  = "80"
	HTTPSPort = "443"
)

// pebbleManagement is Pebble's management address on the host (deploy/platform.pebble.yml).
const pebbleManagement = "127.0.0.1:15000"

// DialContext dials the platform's names (DOMAIN and its subdomains) at 127.0.0.1, where
// Traefik publishes its ports, as if DNS pointed them at this machine; other addresses as
// they are.
func (p *Platform) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == p.Domain || strings.HasSuffix(host, "."+p.Domain) {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// TLSConfig trusts Pebble's root (and nothing else) when the platform serves HTTPS.
func (p *Platform) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: p.Roots, NextProtos: []string{"h2", "http/1.1"}}
}

// Client is an HTTP client of the platform's names, as a browser on this machine would be: it
// resolves them to 127.0.0.1, trusts Pebble's root, speaks HTTP/2 over TLS, and keeps cookies
// in jar (nil: none).
func (p *Platform) Client(jar http.CookieJar) *http.Client {
	tr := &http.Transport{
		DialContext:         p.DialContext,
		TLSClientConfig:     p.TLSConfig(),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	p.T.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	if jar != nil {
		c.Jar = jar
	}
	return c
}

// WebsocketDialer dials the platform's names like Client, sending jar's cookies (nil: none).
func (p *Platform) WebsocketDialer(jar http.CookieJar) *websocket.Dialer {
	tlsConfig := p.TLSConfig()
	tlsConfig.NextProtos = nil
	return &websocket.Dialer{NetDialContext: p.DialContext, TLSClientConfig: tlsConfig, Jar: jar,
		HandshakeTimeout: 15 * time.Second}
}

// Scheme is https with TLS, else http.
func (p *Platform) Scheme() string {
	if p.Opts.TLS {
		return "https"
	}
	return "http"
}

// APIURL is the public URL of a backend's API (https://NAME-be.DOMAIN).
func (p *Platform) APIURL(name string) string { return p.Scheme() + "://" + name + "-be." + p.Domain }

// SiteURL is the public URL of a backend's site (https://NAME.DOMAIN).
func (p *Platform) SiteURL(name string) string { return p.Scheme() + "://" + name + "." + p.Domain }

// pebbleRoots fetches the root Pebble signs certificates with from its management port, over
// the HTTPS that Pebble's own test root (read from the pebble image) vouches for, and keeps its
// PEM for RootPEM.
func (p *Platform) pebbleRoots() *x509.CertPool {
	p.T.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		root, err := p.fetchPebbleRoot(ctx)
		if err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(root) {
				p.rootPEM = root
				return pool
			}
			err = fmt.Errorf("pebble's root is not PEM: %q", root)
		}
		last = err
		time.Sleep(time.Second)
	}
	p.T.Fatalf("Pebble's root: %v", last)
	return nil
}

// RootPEM is Pebble's root in PEM, for clients outside Go (a browser's certificate store).
func (p *Platform) RootPEM() []byte { return p.rootPEM }

func (p *Platform) fetchPebbleRoot(ctx context.Context) ([]byte, error) {
	minica, err := p.pebbleTestRoot(ctx)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: minica, ServerName: "localhost"}}}
	resp, err := c.Get("https://" + pebbleManagement + "/roots/0")
	if err != nil {
		return nil, fmt.Errorf("get Pebble's root: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get Pebble's root: %s %s", resp.Status, body)
	}
	return body, nil
}

// pebbleTestRoot reads /etc/pebble/trust/pebble.minica.pem, the root of Pebble's own HTTPS
// certificate, from the running pebble container.
func (p *Platform) pebbleTestRoot(ctx context.Context) (*x509.CertPool, error) {
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+Stack+"_pebble"), filters.Arg("status", "running"))})
	if err != nil || len(list) == 0 {
		return nil, fmt.Errorf("no running pebble container (%v)", err)
	}
	rc, _, err := p.Cli.CopyFromContainer(ctx, list[0].ID, "/etc/pebble/trust/pebble.minica.pem")
	if err != nil {
		return nil, fmt.Errorf("copy Pebble's test root: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("read Pebble's test root: %w", err)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("read Pebble's test root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("pebble's test root is not PEM")
	}
	return pool, nil
}

// FirstAnswer polls url until the backend itself answers it through Traefik, and returns how
// long that took. Over HTTPS the certificate must verify against Pebble's root (a new backend's
// names get theirs once Traefik routes them). Only the backend's answer counts: below 500, not
// a redirect (until a backend's routers exist, Traefik's catch-all sends plain http to https),
// and not Traefik's own 404 (a name re-created after a delete already has its certificate, but
// no router yet).
func (p *Platform) FirstAnswer(url string, within time.Duration) time.Duration {
	p.T.Helper()
	c := p.Client(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start := time.Now()
	var last error
	for time.Since(start) < within {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			switch {
			case resp.StatusCode >= 500, resp.StatusCode >= 300 && resp.StatusCode < 400:
				last = fmt.Errorf("%s", resp.Status)
			case resp.StatusCode == http.StatusNotFound && string(body) == traefikNotFound:
				last = fmt.Errorf("no router in Traefik for it yet")
			default:
				return time.Since(start)
			}
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.T.Fatalf("%s: no answer from the backend after %s: %v", url, within, last)
	return 0
}

// traefikNotFound is the body of Traefik's own 404, for a host no router matches.
const traefikNotFound = "404 page not found\n"
