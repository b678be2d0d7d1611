package testenv

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TCPListeners returns the addresses (host:port) of the listening TCP sockets this process
// holds open, read from /proc (the test skips where there is none).
func TCPListeners(t testing.TB) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var addrs []string
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
				continue
			}
			if addr, ok := procAddr(f[1]); ok {
				addrs = append(addrs, addr)
			}
		}
	}
	return addrs
}

// procAddr decodes a /proc/net/tcp address: the IP as 32-bit words in host (little-endian)
// order, then the port, all in hex.
func procAddr(s string) (string, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	port, perr := strconv.ParseUint(portHex, 16, 16)
	if !ok || err != nil || perr != nil || len(raw)%4 != 0 {
		return "", false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.JoinHostPort(net.IP(raw).String(), strconv.FormatUint(port, 10)), true
}

// MongoTCPListeners returns the listening TCP sockets of this process that answer a Mongo
// ping: none may, where the embedded database must only be reachable in-process.
func MongoTCPListeners(t testing.TB) []string {
	t.Helper()
	var found []string
	for _, addr := range TCPListeners(t) {
		host, port, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
			if ip.To4() == nil {
				host = "::1"
			}
		}
		uri := "mongodb://" + net.JoinHostPort(host, port) + "/?directConnection=true"
		client, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(2 * time.Second))
		if err != nil {
			continue
		}
		if client.Ping(context.Background(), nil) == nil {
			found = append(found, addr)
		}
		_ = client.Disconnect(context.Background())
	}
	return found
}
