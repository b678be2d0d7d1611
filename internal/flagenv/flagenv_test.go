package flagenv

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/credentials"
)

func envOf(m map[string]string) Env { return FromGetenv(func(k string) string { return m[k] }) }

// TestLookups: a set variable wins over the default, an empty one does not, and a misspelt
// number or duration becomes -1 so that the settings' checks refuse it.
func TestLookups(t *testing.T) {
	env := envOf(map[string]string{"N": "7", "F": "0.5", "D": "2m", "BAD": "many", "EMPTY": ""})
	if env("EMPTY", "def") != "def" || env("N", "def") != "7" {
		t.Fatal("string look-ups")
	}
	if env.Int("N", 1) != 7 || env.Int("UNSET", 1) != 1 || env.Int("BAD", 1) != -1 {
		t.Error("Int")
	}
	if env.Int64("N", 1) != 7 || env.Int64("UNSET", 1) != 1 || env.Int64("BAD", 1) != -1 {
		t.Error("Int64")
	}
	if env.Float("F", 1) != 0.5 || env.Float("UNSET", 1.5) != 1.5 || env.Float("BAD", 1) != -1 {
		t.Error("Float")
	}
	if env.Duration("D", time.Second) != 2*time.Minute || env.Duration("UNSET", time.Second) != time.Second ||
		env.Duration("N", time.Second) != -1 {
		t.Error("Duration")
	}
	if got := SplitList(" a , b,,"); !slices.Equal(got, []string{"a", "b"}) || SplitList("") != nil {
		t.Errorf("SplitList = %q", got)
	}
}

// TestThrottle: the flags win over the environment, which wins over credentials' defaults;
// the help says whose accounts; what is not positive is refused.
func TestThrottle(t *testing.T) {
	parse := func(args []string, env map[string]string) (credentials.Limits, *flag.FlagSet) {
		t.Helper()
		var l credentials.Limits
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		Throttle(fs, envOf(env), &l, "developer")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return l, fs
	}
	l, fs := parse(nil, nil)
	if want, _ := (credentials.Limits{}).WithDefaults(); l != want {
		t.Fatalf("defaults = %+v, want %+v", l, want)
	}
	if err := CheckThrottle(l); err != nil {
		t.Fatal(err)
	}
	if u := fs.Lookup("registrations-per-address").Usage; !strings.HasPrefix(u, "developer sign-ups from one client address") {
		t.Errorf("usage = %q", u)
	}
	l, _ = parse([]string{"--login-window", "5m"}, map[string]string{"BACKPACK_LOGIN_WINDOW": "1m", "BACKPACK_LOGIN_MAX_FAILURES_PER_ACCOUNT": "9"})
	if l.LoginWindow != 5*time.Minute || l.LoginMaxFailuresPerAccount != 9 {
		t.Fatalf("configured = %+v", l)
	}
	for _, bad := range []map[string]string{{"BACKPACK_REGISTRATIONS_PER_ADDRESS": "0"}, {"BACKPACK_LOGIN_MAX_FAILURES_PER_ADDRESS": "x"},
		{"BACKPACK_LOGIN_WINDOW": "15"}, {"BACKPACK_REGISTRATION_WINDOW": "0s"}} {
		if l, _ := parse(nil, bad); CheckThrottle(l) == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
