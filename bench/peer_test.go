package main

import (
	"strings"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tpocketbase\nVmPeak:\t 1300000 kB\nVmHWM:\t   81820 kB\nVmRSS:\t   80000 kB\n"
	got, err := statusField(strings.NewReader(status), "VmHWM")
	if err != nil || got != 81820*1024 {
		t.Errorf("statusField(VmHWM) = %d, %v; want %d", got, err, 81820*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmHWM:\t12 MB\n", "VmHWM:\tmany kB\n"} {
		if _, err := statusField(strings.NewReader(bad), "VmHWM"); err == nil {
			t.Errorf("statusField(%q, VmHWM) succeeded, want an error", bad)
		}
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		a, b float64
		want string
	}{
		{3, 2, "1.50×"},
		{1, 4, "0.25×"},
		{0, 4, "-"},
		{4, 0, "-"},
	}
	for _, tt := range tests {
		if got := ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("ratio(%g, %g) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
