package credentials

import (
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
)

// TestLimitsWithDefaults: zero limits take the defaults, set ones stay, negative ones are
// refused, and the throttle enforces what was configured.
func TestLimitsWithDefaults(t *testing.T) {
	l, err := Limits{}.WithDefaults()
	want := Limits{DefaultLoginMaxFailuresPerAccountAddress, DefaultLoginMaxFailuresPerAccount, DefaultLoginMaxFailuresPerAddress,
		DefaultLoginWindow, DefaultRegistrationsPerAddress, DefaultRegistrationWindow}
	if err != nil || l != want {
		t.Fatalf("defaults = %+v, %v; want %+v", l, err, want)
	}
	set := Limits{3, 40, 30, 5 * time.Minute, 7, 24 * time.Hour}
	if l, err := set.WithDefaults(); err != nil || l != set {
		t.Fatalf("configured = %+v, %v; want %+v", l, err, set)
	}
	for _, bad := range []Limits{{LoginMaxFailuresPerAccountAddress: -1}, {LoginMaxFailuresPerAccount: -1},
		{LoginMaxFailuresPerAddress: -1}, {LoginWindow: -time.Second}, {RegistrationsPerAddress: -1}, {RegistrationWindow: -time.Second}} {
		if _, err := bad.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	store := ephemeral.NewMemory()
	th := set.Throttle(store)
	if th.Store != store || th.MaxPerAccountAddress != 3 || th.MaxPerAccount != 40 || th.MaxPerAddress != 30 ||
		th.Window != 5*time.Minute || th.MaxRegistrationsPerAddress != 7 || th.RegistrationWindow != 24*time.Hour {
		t.Fatalf("throttle = %+v", th)
	}
}
