package swarmtest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeProxy accepts connections on a loopback port, reads one CONNECT request from each and
// writes answer, then holds the connection open until the test ends. It stands in for
// netprobe so DialContext's reading of answers is checked without Docker.
func fakeProxy(t *testing.T, answer string) *Probe {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || req.Method != http.MethodConnect {
					return
				}
				if answer != "" {
					_, _ = io.WriteString(c, answer)
				}
				<-done
			}()
		}
	}()
	return &Probe{Name: "fake", Network: "testnet", Addr: ln.Addr().String()}
}

func TestDialReportsUnreachableWithTheProbesReason(t *testing.T) {
	reason := "dial tcp 10.0.1.4:3001: connect: connection refused"
	p := fakeProxy(t, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: "+strconv.Itoa(len(reason)+1)+"\r\n\r\n"+reason+"\n")
	_, err := p.DialContext(context.Background(), "tcp", "shop_api:3001")
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("err = %v, want an *UnreachableError", err)
	}
	if unreachable.Addr != "shop_api:3001" || unreachable.Network != "testnet" || unreachable.Reason != reason {
		t.Fatalf("got %+v, want addr shop_api:3001, network testnet, reason %q", unreachable, reason)
	}
	if !strings.Contains(err.Error(), "unreachable from network testnet") {
		t.Fatalf("message %q does not say which network", err)
	}
}

func TestDialKeepsBytesThatCameWithTheAnswer(t *testing.T) {
	p := fakeProxy(t, "HTTP/1.1 200 Connection established\r\n\r\n+OK server speaks first\r\n")
	conn, err := p.DialContext(context.Background(), "tcp", "mail:25")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line != "+OK server speaks first\r\n" {
		t.Fatalf("first line %q, want the server's greeting", line)
	}
}

func TestDialOtherRefusalIsNotUnreachable(t *testing.T) {
	p := fakeProxy(t, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 2\r\n\r\nno")
	_, err := p.DialContext(context.Background(), "tcp", "shop_api:3000")
	var unreachable *UnreachableError
	if err == nil || errors.As(err, &unreachable) {
		t.Fatalf("err = %v, want an error other than *UnreachableError", err)
	}
	if !strings.Contains(err.Error(), "405") {
		t.Fatalf("message %q does not give the status", err)
	}
}

func TestDialHonoursContextWhileWaitingForTheProbe(t *testing.T) {
	p := fakeProxy(t, "") // never answers
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.DialContext(ctx, "tcp", "slow:80")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("returned after %s", elapsed)
	}
}

func TestDialOnlyTCP(t *testing.T) {
	p := &Probe{Name: "fake", Network: "testnet", Addr: "127.0.0.1:1"}
	if _, err := p.DialContext(context.Background(), "udp", "dns:53"); err == nil {
		t.Fatal("dialled UDP through a TCP tunnel")
	}
}

func TestProbeNameIsADNSLabelNamingTheTest(t *testing.T) {
	cases := map[string]string{
		"TestPublicAPI":                                  "testpublicapi",
		"TestAdmin/port_3001_is_closed":                  "testadmin-port-3001-is-closed",
		"Test__ÜNUSUAL--chars//":                         "test-nusual-chars",
		"TestAVeryLongNameThatGoesOnAndOn/and_on_and_on": "testaverylongnamethatgoesonandon-and-on",
		"TestFortyCharactersLongBeforeTheSubtests/x":     "testfortycharacterslongbeforethesubtests",
	}
	for testName, label := range cases {
		a, b := probeName(testName), probeName(testName)
		valid := regexp.MustCompile(`^netprobe-` + regexp.QuoteMeta(label) + `-[0-9a-f]{8}$`)
		if !valid.MatchString(a) {
			t.Errorf("probeName(%q) = %q, want netprobe-%s-HEX", testName, a, label)
		}
		if a == b {
			t.Errorf("probeName(%q) gave %s twice", testName, a)
		}
	}
}
