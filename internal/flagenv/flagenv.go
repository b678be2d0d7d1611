// Package flagenv reads the binaries' settings (backpack, backpack-api) from flags whose
// defaults come from environment variables, so that a setting both binaries take is named,
// parsed and checked in one place.
package flagenv

import (
	"strconv"
	"strings"
	"time"
)

// Env looks an environment variable up: its value, or def when it is unset or empty.
type Env func(name, def string) string

// FromGetenv is the Env over getenv (os.Getenv, or a test's map).
func FromGetenv(getenv func(string) string) Env {
	return func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
}

// The typed look-ups give def when the variable is unset and -1 when it is spelled wrong,
// which the settings' checks refuse: a typo must not quietly become the default.

// Int is the variable as a whole number.
func (e Env) Int(name string, def int) int {
	n, err := strconv.Atoi(e(name, strconv.Itoa(def)))
	if err != nil {
		return -1
	}
	return n
}

// Int64 is the variable as a 64-bit whole number.
func (e Env) Int64(name string, def int64) int64 {
	n, err := strconv.ParseInt(e(name, strconv.FormatInt(def, 10)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Float is the variable as a number.
func (e Env) Float(name string, def float64) float64 {
	f, err := strconv.ParseFloat(e(name, strconv.FormatFloat(def, 'g', -1, 64)), 64)
	if err != nil {
		return -1
	}
	return f
}

// Duration is the variable as a duration such as 15m or 1h.
func (e Env) Duration(name string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(e(name, def.String()))
	if err != nil {
		return -1
	}
	return d
}

// SplitList splits a comma-separated setting, dropping empty entries.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
