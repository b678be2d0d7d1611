package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/backpackhq/backpack/stacktemplates"
)

// hostname is the default for --node; a variable so tests can pin it.
var hostname = os.Hostname

// runRender prints a backend's Swarm stack, interpolated, for `docker stack deploy -c - NAME`;
// with --nginx-conf, the nginx.conf that stack expects next to it instead.
func runRender(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	env := flagenv.FromGetenv(getenv)
	host, _ := hostname()
	var (
		v              stacktemplates.Vars
		tls, cors      string
		secrets        string
		replicas       string
		printNginxConf bool
	)
	flags := flag.NewFlagSet("backpack render", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), `Usage:
  backpack render NAME --domain DOMAIN [flags]   print backend NAME's Swarm stack
  backpack render --nginx-conf                   print the nginx.conf the stack reads from ./nginx.conf

Deploy by hand (see docs/swarm.md; the secrets must exist first):
  backpack render --nginx-conf > nginx.conf
  backpack render NAME --domain DOMAIN | docker stack deploy -c - NAME

Flags:
`)
		flags.PrintDefaults()
	}
	flags.BoolVar(&printNginxConf, "nginx-conf", false, "print the nginx.conf of the web service instead of the stack")
	flags.StringVar(&v.Domain, "domain", env("BACKPACK_DOMAIN", ""), "parent domain, required: the API answers at NAME-be.DOMAIN, the site at NAME.DOMAIN (BACKPACK_DOMAIN)")
	flags.StringVar(&v.Node, "node", env("BACKPACK_NODE", host), "value of the node label "+stacktemplates.NodeLabel+" on the node that keeps the backend's data (BACKPACK_NODE; default: this machine's host name)")
	flags.StringVar(&cors, "cors-origins", env("BACKPACK_CORS_ORIGINS", ""), "origins allowed to call the API, comma-separated; default the site, SCHEME://NAME.DOMAIN (BACKPACK_CORS_ORIGINS)")
	flags.StringVar(&secrets, "secrets-version", env("BACKPACK_SECRETS_VERSION", "1"), "N in the external secrets' names NAME_api_key_vN and NAME_admin_token_vN (BACKPACK_SECRETS_VERSION)")
	flags.StringVar(&v.Volumes, "volumes", env("BACKPACK_VOLUMES", ""), "start of the volumes' names (VOLUMES_files, VOLUMES_mongo_data…); default NAME; a backend the control plane made has its own: docker volume ls --filter label=com.docker.stack.namespace=NAME (BACKPACK_VOLUMES)")
	flags.StringVar(&replicas, "api-replicas", env("BACKPACK_API_REPLICAS", "1"), fmt.Sprintf("tasks of the api service, all on the backend's node; 1 to %d (BACKPACK_API_REPLICAS)", stacktemplates.MaxAPIReplicas))
	stackFlags(flags, env, &v, &tls)

	// NAME may come before the flags (the usual order) or after them.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		v.Name, args = args[0], args[1:]
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if v.Name == "" && flags.NArg() > 0 {
		v.Name = flags.Arg(0)
		if err := flags.Parse(flags.Args()[1:]); err != nil {
			return err
		}
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(flags.Args(), " "))
	}

	if printNginxConf {
		if v.Name != "" {
			return errors.New("--nginx-conf prints the same file for every backend: give no NAME")
		}
		b, err := fs.ReadFile(stacktemplates.Files, "nginx.conf")
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	if v.Name == "" {
		flags.Usage()
		return errors.New("name the backend: backpack render NAME --domain DOMAIN")
	}
	if v.Domain == "" {
		return errors.New("BACKPACK_DOMAIN (or --domain) is required: backends answer at NAME-be.DOMAIN and NAME.DOMAIN")
	}
	tlsOn, err := resolveTLS(tls, v.Domain)
	if err != nil {
		return err
	}
	v.TLS = tlsOn
	for _, o := range strings.Split(cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			v.CORSOrigins = append(v.CORSOrigins, o)
		}
	}
	n, err := strconv.Atoi(secrets)
	if err != nil || n < 1 {
		return fmt.Errorf("--secrets-version / BACKPACK_SECRETS_VERSION %q must be a number from 1", secrets)
	}
	v.SecretsVersion = n
	if v.APIReplicas, err = strconv.Atoi(replicas); err != nil || v.APIReplicas < 1 || v.APIReplicas > stacktemplates.MaxAPIReplicas {
		return fmt.Errorf("--api-replicas / BACKPACK_API_REPLICAS %q must be a number from 1 to %d", replicas, stacktemplates.MaxAPIReplicas)
	}

	out, err := stacktemplates.Render(ctx, v)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}
