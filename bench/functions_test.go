package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRatios(t *testing.T) {
	a := summary{p50: 30 * time.Millisecond, p99: 90 * time.Millisecond, perSecond: 500}
	b := summary{p50: 10 * time.Millisecond, p99: 0, perSecond: 1000}
	if got, want := ratios(a, b), "p50 ×3.00, p99 n/a, req/s ×0.50"; got != want {
		t.Fatalf("ratios = %q, want %q", got, want)
	}
}

func TestPrintFunctions(t *testing.T) {
	ok := summary{requests: 10, perSecond: 100, p50: time.Millisecond, p99: 2 * time.Millisecond}
	var out bytes.Buffer
	err := printFunctions(&out, functionsSummary{clients: 5, duration: time.Second, docGet: ok, fnGet: ok,
		deploys: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 300 * time.Millisecond}, failed: errors.New("boom")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GET /fn/ping", "function call / document read: p50 ×1.00",
		"3 deploys, p50 20.0ms, max 300.0ms", "functions: failed: boom",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "create with hook") || strings.Contains(out.String(), "POST /hooked") {
		t.Errorf("workloads that did not run are printed:\n%s", out.String())
	}
}
