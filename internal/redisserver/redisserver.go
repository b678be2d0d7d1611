// Package redisserver starts a throw-away redis-server for the tests and the load benchmark:
// no persistence, a free loopback port, ready when it says it accepts connections.
package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"
)

// Start starts redis-server without persistence on a free loopback port in dir and waits
// until it accepts connections. Another process may take the port between choosing and
// binding it, so it tries up to three ports.
func Start(ctx context.Context, bin, dir string) (url string, stop func(), err error) {
	for range 3 {
		url, stop, err = startOnce(ctx, bin, dir)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return url, stop, err
}

func startOnce(ctx context.Context, bin, dir string) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "no")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if ok {
			return "redis://" + addr + "/0", stop, nil
		}
		err = errors.New("redis-server exited before accepting connections")
	case <-time.After(10 * time.Second):
		err = errors.New("redis-server did not start within 10s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	return "", nil, err
}

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}
