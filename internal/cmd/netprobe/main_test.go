package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
)

// startProxy runs netprobe in-process on a free loopback port until the test ends, and returns
// its address and a function that stops it (as SIGTERM would) and waits for run to return.
func startProxy(t *testing.T) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, slog.New(slog.DiscardHandler),
			func(a net.Addr) { addrs <- a.String() })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		cancel()
		t.Fatalf("netprobe did not start: %v", err)
	}
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("netprobe returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("netprobe did not stop within 10 s")
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// connect sends CONNECT target to the proxy at addr and returns the response and the
// connection, positioned after the response head.
func connect(t *testing.T, addr, target string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial netprobe: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); err != nil {
		t.Fatalf("send CONNECT: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("read CONNECT response: %v", err)
	}
	return resp, conn, br
}

// upperServer accepts connections on a loopback port and answers each with everything the
// client sent, upper-cased, once the client has finished sending: it needs the tunnel to pass
// data both ways and the client's end of stream.
func upperServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := io.ReadAll(c)
				if err != nil {
					return
				}
				_, _ = c.Write(bytes.ToUpper(b))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestConnectTunnelsToTarget(t *testing.T) {
	proxy, _ := startProxy(t)
	target := upperServer(t)

	resp, conn, br := connect(t, proxy, target)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: status %d, want 200", target, resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "hello through the tunnel"); err != nil {
		t.Fatalf("write through tunnel: %v", err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("read through tunnel: %v", err)
	}
	if string(got) != "HELLO THROUGH THE TUNNEL" {
		t.Fatalf("through the tunnel got %q, want the upper-cased message", got)
	}
}

func TestConnectSendsBytesWrittenWithTheRequest(t *testing.T) {
	proxy, _ := startProxy(t)
	target := upperServer(t)

	conn, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// A client may send its first bytes, even its end of stream, without waiting for the 200:
	// they must not be lost, nor cancel the dial.
	if _, err := io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\neager"); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("read CONNECT response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	got, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "EAGER" {
		t.Fatalf("got %q, want %q", got, "EAGER")
	}
}

func TestConnectToClosedPortIs502WithTheDialError(t *testing.T) {
	proxy, _ := startProxy(t)
	closed := testenv.FreeAddr(t)

	resp, _, _ := connect(t, proxy, closed)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("CONNECT %s: status %d, want 502", closed, resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "connection refused") || !strings.Contains(string(body), closed) {
		t.Fatalf("502 body %q: want the dial error naming %s and \"connection refused\"", body, closed)
	}
}

func TestConnectWithoutPortIs400(t *testing.T) {
	proxy, _ := startProxy(t)
	resp, _, _ := connect(t, proxy, "example")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("CONNECT example: status %d, want 400", resp.StatusCode)
	}
}

func TestOnlyConnectAndHealthz(t *testing.T) {
	proxy, _ := startProxy(t)
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}

	cases := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodGet, "/", http.StatusMethodNotAllowed},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
		{http.MethodPut, "/anything", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/", http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, "http://"+proxy+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if c.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodConnect {
			t.Errorf("%s %s: Allow %q, want CONNECT", c.method, c.path, resp.Header.Get("Allow"))
		}
	}
}

func TestShutdownClosesTunnels(t *testing.T) {
	proxy, stop := startProxy(t)
	target := upperServer(t)

	resp, _, br := connect(t, proxy, target)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: status %d, want 200", target, resp.StatusCode)
	}
	stop()
	// The target is still waiting for the client's end of stream; only the proxy can end this.
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("tunnel still delivers data after shutdown")
	} else if isTimeout(err) {
		t.Fatal("tunnel still open after shutdown")
	}
	if _, err := net.DialTimeout("tcp", proxy, time.Second); err == nil {
		t.Fatal("netprobe still accepts connections after shutdown")
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestRejectsArguments(t *testing.T) {
	if err := run(context.Background(), []string{"extra"}, slog.New(slog.DiscardHandler), nil); err == nil {
		t.Fatal("run accepted a stray argument")
	}
}
