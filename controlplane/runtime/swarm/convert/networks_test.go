package convert

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

func TestNetworks(t *testing.T) {
	p := load(t, `
services:
  api:
    image: img
    networks: [internal, public, admin]
  mongo:
    image: img
    networks: [internal]
  web:
    image: img
networks:
  internal: {internal: true, labels: {com.example.tier: data}}
  tools: {attachable: true}
  debug: {attachable: true, driver: overlay, driver_opts: {encrypted: ""}}
  public: {external: true, name: backpack_public}
  admin: {external: true, name: backpack_admin}
  unused_external: {external: true}
`, nil)
	got, err := Networks(p, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	// Only networks some service uses are created, as with `docker stack deploy`; web uses
	// the implicit default network.
	want := map[string]network.CreateOptions{
		"shop_internal": {Driver: "overlay", Internal: true,
			Labels: map[string]string{LabelNamespace: "shop", "com.example.tier": "data"}},
		"shop_default": {Driver: "overlay", Labels: map[string]string{LabelNamespace: "shop"}},
	}
	equal(t, "networks", got, want)
	equal(t, "external networks", ExternalNetworks(p), []string{"backpack_admin", "backpack_public"})

	p = load(t, `
services:
  api:
    image: img
    networks: [tools, debug]
networks:
  tools: {attachable: true}
  debug: {attachable: true, driver: overlay, driver_opts: {encrypted: ""}}
`, nil)
	got, err = Networks(p, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]network.CreateOptions{
		"shop_tools": {Driver: "overlay", Attachable: true, Labels: map[string]string{LabelNamespace: "shop"}},
		"shop_debug": {Driver: "overlay", Attachable: true, Options: map[string]string{"encrypted": ""},
			Labels: map[string]string{LabelNamespace: "shop"}},
	}
	equal(t, "networks", got, want)
	if ext := ExternalNetworks(p); ext != nil {
		t.Errorf("external networks: %v", ext)
	}
}

// TestWithoutNormalization converts a project loaded as written (no names filled in, no
// implicit default network), as a loader that keeps the file renderable does: the names are
// the same.
func TestWithoutNormalization(t *testing.T) {
	yaml := `
services:
  api:
    image: img
    networks: [internal, backpack_public]
    volumes: [{type: volume, source: files, target: /files}]
    secrets: [{source: key, target: key}]
    configs: [{source: conf, target: /etc/conf}]
  worker:
    image: img
networks:
  internal: {internal: true}
  backpack_public: {external: true}
volumes:
  files: {}
secrets:
  key: {external: true}
configs:
  conf: {content: x}
`
	raw := load(t, yaml, nil, func(o *loader.Options) { o.SkipNormalization = true })
	normalized := load(t, yaml, nil)
	if raw.Networks["internal"].Name != "" || len(raw.Services["worker"].Networks) != 0 {
		t.Fatal("the loader normalized the project anyway")
	}
	for _, p := range []*types.Project{raw, normalized} {
		specs, err := Services(p, testNamespace)
		if err != nil {
			t.Fatal(err)
		}
		api := specs["shop_api"].TaskTemplate
		equal(t, "api networks", api.Networks, []swarm.NetworkAttachmentConfig{
			{Target: "backpack_public"}, {Target: "shop_internal", Aliases: []string{"api"}},
		})
		equal(t, "names", []string{api.ContainerSpec.Mounts[0].Source,
			api.ContainerSpec.Secrets[0].SecretName, api.ContainerSpec.Configs[0].ConfigName},
			[]string{"shop_files", "key", "shop_conf"})
		equal(t, "worker networks", specs["shop_worker"].TaskTemplate.Networks,
			[]swarm.NetworkAttachmentConfig{{Target: "shop_default", Aliases: []string{"worker"}}})
		nets, err := Networks(p, testNamespace)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "networks", sortedKeys(nets), []string{"shop_default", "shop_internal"})
		equal(t, "external", ExternalNetworks(p), []string{"backpack_public"})
		vols, err := Volumes(p, testNamespace)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "volumes", sortedKeys(vols), []string{"shop_files"})
		configs, err := Configs(p, testNamespace, InlineData(nil))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "configs", sortedKeys(configs), []string{"shop_conf"})
	}
}
