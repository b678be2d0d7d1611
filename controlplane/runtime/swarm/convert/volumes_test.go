package convert

import (
	"testing"

	"github.com/docker/docker/api/types/volume"
)

func TestVolumes(t *testing.T) {
	p := load(t, `
services:
  mongo:
    image: img
    volumes: [db:/data/db]
volumes:
  db:
  site: {labels: {com.example.kind: site}, driver: local}
  renamed: {name: shop_files_v2}
  shared: {external: true, name: backpack_shared}
`, nil)
	got, err := Volumes(p, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	// Every volume the stack declares, used or not, so that a purge finds them all;
	// external ones belong to someone else.
	want := map[string]volume.CreateOptions{
		"shop_db": {Name: "shop_db", Driver: "local", Labels: map[string]string{LabelNamespace: "shop"}},
		"shop_site": {Name: "shop_site", Driver: "local",
			Labels: map[string]string{LabelNamespace: "shop", "com.example.kind": "site"}},
		"shop_files_v2": {Name: "shop_files_v2", Driver: "local", Labels: map[string]string{LabelNamespace: "shop"}},
	}
	equal(t, "volumes", got, want)
}
