package flagenv

import (
	"errors"
	"flag"
	"time"
)

// DefaultDrain is how long a server behind a load balancer keeps serving after SIGTERM while
// its readiness answers 503: longer than Traefik's swarm provider takes to drop a stopping
// task (its poll, 2 s in the platform stack, plus its 2 s throttle), with margin.
const DefaultDrain = 8 * time.Second

// Drain registers --drain (BACKPACK_DRAIN) on fs, filling d, with def as the default: what
// httpserve.Shutdown.Drain is for. Servers with no load balancer in front take 0.
func Drain(fs *flag.FlagSet, env Env, d *time.Duration, def time.Duration) {
	fs.DurationVar(d, "drain", env.Duration("BACKPACK_DRAIN", def),
		"on SIGTERM, how long to keep serving while /readyz answers 503 draining, so the load balancer stops sending traffic before the listener closes; 0: none (BACKPACK_DRAIN)")
}

// CheckDrain refuses a negative drain, which is also what a misspelled BACKPACK_DRAIN reads as.
func CheckDrain(d time.Duration) error {
	if d < 0 {
		return errors.New("BACKPACK_DRAIN / --drain must be a duration such as 8s, or 0 for none")
	}
	return nil
}

// Given reports whether a setting was given explicitly, by its flag on fs (parsed) or by its
// environment variable, rather than left to its default.
func Given(fs *flag.FlagSet, env Env, flagName, envName string) bool {
	if env(envName, "") != "" {
		return true
	}
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == flagName {
			given = true
		}
	})
	return given
}
