package siterelease

import (
	"testing"
	"time"
)

func TestReleaseID(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("CET", 3600))
	id := releaseID(at)
	if !idPattern.MatchString(id) || id[:len(idTimeLayout)] != "20250304T040607.890Z" {
		t.Errorf("releaseID = %q", id)
	}
	if releaseID(at) == id {
		t.Error("two IDs for the same instant are equal")
	}
}

func TestReleaseTime(t *testing.T) {
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	cases := []struct {
		name        string
		now, newest time.Time
		want        time.Time
	}{
		{"first release", base.Add(123456789), time.Time{}, base.Add(123 * time.Millisecond)},
		{"later than newest", base.Add(time.Second), base, base.Add(time.Second)},
		{"same millisecond", base.Add(500 * time.Microsecond), base, base.Add(time.Millisecond)},
		{"clock stepped back", base.Add(-time.Hour), base, base.Add(time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := releaseTime(tc.now, tc.newest); !got.Equal(tc.want) {
				t.Errorf("releaseTime = %v, want %v", got, tc.want)
			}
		})
	}
}
