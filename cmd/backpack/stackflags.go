package main

import (
	"flag"
	"fmt"

	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/backpackhq/backpack/stacktemplates"
)

// stackFlags registers what every backend stack shares (images, resource limits, Traefik
// routing) for both `backpack render` and `backpack serve --runtime swarm`, so that a stack
// rendered by hand and one the control plane deploys come from the same settings. TLS is
// read as text (true, false or auto) and resolved by resolveTLS once the domain is known.
func stackFlags(flags *flag.FlagSet, env flagenv.Env, v *stacktemplates.Vars, tls *string) {
	flags.StringVar(tls, "tls", env("BACKPACK_TLS", "auto"), "HTTPS routers with certificates from the resolver: true, false, or auto (true unless the domain is localhost or has no dot) (BACKPACK_TLS)")
	flags.StringVar(&v.CertResolver, "cert-resolver", env("BACKPACK_CERT_RESOLVER", stacktemplates.DefaultCertResolver), "Traefik certificate resolver (BACKPACK_CERT_RESOLVER)")
	flags.StringVar(&v.EntryPoints, "entrypoints", env("BACKPACK_ENTRYPOINTS", ""), "Traefik entry points, comma-separated; default websecure with TLS, web without (BACKPACK_ENTRYPOINTS)")
	v.TrustedProxies = flagenv.SplitList(env("BACKPACK_TRUSTED_PROXIES", ""))
	flags.Func("trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For the APIs believe: Traefik's network; default backpack_public's subnet, "+
		stacktemplates.PublicSubnet+" (BACKPACK_TRUSTED_PROXIES)", func(list string) error {
		v.TrustedProxies = flagenv.SplitList(list)
		return nil
	})
	for _, s := range []struct {
		flag, envName, what string
		svc                 *stacktemplates.Service
		image               string
	}{
		{"api", "API", "the backpack-api", &v.API, stacktemplates.DefaultAPIImage},
		{"mongo", "MONGO", "the MongoDB", &v.Mongo, stacktemplates.DefaultMongoImage},
		{"redis", "REDIS", "the Redis", &v.Redis, stacktemplates.DefaultRedisImage},
		{"web", "WEB", "the nginx", &v.Web, stacktemplates.DefaultWebImage},
	} {
		flags.StringVar(&s.svc.Image, s.flag+"-image", env("BACKPACK_"+s.envName+"_IMAGE", s.image), s.what+" image (BACKPACK_"+s.envName+"_IMAGE)")
		flags.StringVar(&s.svc.CPUs, s.flag+"-cpus", env("BACKPACK_"+s.envName+"_CPUS", ""), "CPU limit of "+s.what+" service, e.g. 0.5; default "+
			stacktemplates.DefaultLimits(s.flag).CPUs+" (BACKPACK_"+s.envName+"_CPUS)")
		flags.StringVar(&s.svc.Memory, s.flag+"-memory", env("BACKPACK_"+s.envName+"_MEMORY", ""), "memory limit of "+s.what+" service, e.g. 512M; default "+
			stacktemplates.DefaultLimits(s.flag).Memory+" (BACKPACK_"+s.envName+"_MEMORY)")
	}
}

// resolveTLS turns --tls into a decision for domain.
func resolveTLS(tls, domain string) (bool, error) {
	switch tls {
	case "auto":
		return stacktemplates.NeedsCertificate(domain), nil
	case "true", "false":
		return tls == "true", nil
	}
	return false, fmt.Errorf("--tls / BACKPACK_TLS %q must be true, false or auto", tls)
}
