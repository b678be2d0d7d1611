package main

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/stacktemplates"
)

func renderCmd(t *testing.T, args []string, env map[string]string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"render"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

func TestRender(t *testing.T) {
	old := hostname
	hostname = func() (string, error) { return "this-host", nil }
	t.Cleanup(func() { hostname = old })

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
		not  []string
	}{
		{
			name: "flags after the name, real domain: TLS",
			args: []string{"shop", "--domain", "example.com", "--node", "n1"},
			want: []string{`version: "3.8"`, "Host(`shop-be.example.com`)", "Host(`shop.example.com`)",
				"traefik.http.routers.shop-api.tls: \"true\"", "entrypoints: websecure", "node.labels.backpack.node == n1",
				"BACKPACK_CORS_ORIGINS: https://shop.example.com", "image: " + stacktemplates.DefaultAPIImage, "name: shop_api_key_v1"},
		},
		{
			name: "flags before the name, localhost: no TLS, host name as node",
			args: []string{"--domain", "localhost", "blog"},
			want: []string{"Host(`blog-be.localhost`)", "traefik.http.routers.blog-api.tls: \"false\"", "entrypoints: web",
				"node.labels.backpack.node == this-host", "BACKPACK_CORS_ORIGINS: http://blog.localhost"},
		},
		{
			name: "environment",
			args: []string{"shop"},
			env: map[string]string{"BACKPACK_DOMAIN": "apps.example.org", "BACKPACK_NODE": "worker-3", "BACKPACK_TLS": "false",
				"BACKPACK_API_IMAGE": "backpack-api:dev", "BACKPACK_MONGO_IMAGE": "ferretdb-test:1", "BACKPACK_REDIS_MEMORY": "128M",
				"BACKPACK_SECRETS_VERSION": "3", "BACKPACK_CORS_ORIGINS": "https://shop.example.org, http://localhost:5173"},
			want: []string{"Host(`shop-be.apps.example.org`)", "tls: \"false\"", "node.labels.backpack.node == worker-3",
				"image: backpack-api:dev", "image: ferretdb-test:1", `memory: "134217728"`, "name: shop_api_key_v3",
				"BACKPACK_CORS_ORIGINS: https://shop.example.org,http://localhost:5173"},
		},
		{
			name: "flags win over the environment",
			args: []string{"shop", "--domain", "example.com", "--tls", "true", "--cert-resolver", "staging", "--entrypoints", "web,websecure",
				"--web-image", "nginx-test:1", "--api-cpus", "2", "--api-replicas", "3"},
			env:  map[string]string{"BACKPACK_DOMAIN": "other.example", "BACKPACK_WEB_IMAGE": "nginx:old", "BACKPACK_TLS": "false"},
			want: []string{"Host(`shop.example.com`)", "tls.certresolver: staging", "entrypoints: web,websecure", "image: nginx-test:1", `cpus: "2"`, "replicas: 3"},
			not:  []string{"other.example", "nginx:old"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderCmd(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output holds %q", n)
				}
			}
		})
	}
}

func TestRenderNginxConf(t *testing.T) {
	out, err := renderCmd(t, []string{"--nginx-conf"}, nil)
	want, _ := fs.ReadFile(stacktemplates.Files, "nginx.conf")
	if err != nil || out != string(want) {
		t.Fatalf("err = %v, output %d bytes, want the embedded nginx.conf", err, len(out))
	}
}

func TestRenderRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"no name":              {[]string{"--domain", "example.com"}, nil, "name the backend"},
		"no domain":            {[]string{"shop"}, nil, "BACKPACK_DOMAIN"},
		"backtick in name":     {[]string{"sh`op", "--domain", "example.com"}, nil, "invalid backend name"},
		"rule injection":       {[]string{"x`)||Host(`evil.com", "--domain", "example.com"}, nil, "invalid backend name"},
		"bad domain":           {[]string{"shop", "--domain", "example.com`)"}, nil, "domain"},
		"bad node":             {[]string{"shop", "--domain", "example.com", "--node", "n1 || node.role==manager"}, nil, "node"},
		"bad tls":              {[]string{"shop", "--domain", "example.com", "--tls", "yes"}, nil, "--tls"},
		"bad tls in env":       {[]string{"shop", "--domain", "example.com"}, map[string]string{"BACKPACK_TLS": "on"}, "BACKPACK_TLS"},
		"bad secrets version":  {[]string{"shop", "--domain", "example.com", "--secrets-version", "0"}, nil, "secrets-version"},
		"no api replicas":      {[]string{"shop", "--domain", "example.com", "--api-replicas", "0"}, nil, "api-replicas"},
		"too many replicas":    {[]string{"shop", "--domain", "example.com"}, map[string]string{"BACKPACK_API_REPLICAS": "101"}, "BACKPACK_API_REPLICAS"},
		"bad image":            {[]string{"shop", "--domain", "example.com", "--api-image", "api:${TAG}"}, nil, "api image"},
		"bad memory":           {[]string{"shop", "--domain", "example.com"}, map[string]string{"BACKPACK_MONGO_MEMORY": "lots"}, "mongo memory"},
		"two names":            {[]string{"shop", "blog", "--domain", "example.com"}, nil, "unexpected arguments"},
		"nginx conf with name": {[]string{"shop", "--nginx-conf"}, nil, "no NAME"},
		"unknown flag":         {[]string{"shop", "--domian", "example.com"}, nil, "domian"},
	} {
		out, err := renderCmd(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, tc.want)
		}
		if out != "" {
			t.Errorf("%s: printed %q despite the error", name, out)
		}
	}
}

func TestRenderHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"render", "-h"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "docker stack deploy -c - NAME") || !strings.Contains(errOut.String(), "BACKPACK_API_IMAGE") {
		t.Errorf("help = %q", errOut.String())
	}
}
