package siterelease

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"time"
)

// idTimeLayout is the time part of a release ID; it sorts in time order as plain text.
const idTimeLayout = "20060102T150405.000Z"

// idPattern recognises release IDs, so unrelated files in releases/ are never taken for
// releases nor pruned.
var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{6}$`)

// releaseTime picks the creation time of a new release: now, to the millisecond, but always
// later than the newest existing release, so that two quick installs or a clock stepping back
// cannot make the newer release sort as older.
func releaseTime(now, newest time.Time) time.Time {
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(newest) {
		t = newest.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	}
	return t
}

// releaseID names the release created at t.
func releaseID(t time.Time) string {
	return t.UTC().Format(idTimeLayout) + "-" + randomHex(3)
}

// randomHex returns n random bytes as hex, for names no other writer will pick.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it crashes the program instead
	return hex.EncodeToString(b)
}
