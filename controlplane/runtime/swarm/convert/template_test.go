package convert

import (
	"context"
	"slices"
	"testing"

	"github.com/backpackhq/backpack/stacktemplates"
)

// TestBackendTemplateConverts: the stack every backend runs converts without refusals, and the
// admin alias lives on the admin network only.
func TestBackendTemplateConverts(t *testing.T) {
	p, err := stacktemplates.Load(context.Background(), stacktemplates.Vars{Name: "shop", Domain: "example.com", Node: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := Services(p, "shop")
	if err != nil {
		t.Fatalf("the backend template does not convert: %v", err)
	}
	api, ok := specs["shop_api"]
	if !ok {
		t.Fatalf("no shop_api in %v", specs)
	}
	for _, att := range api.TaskTemplate.Networks {
		hasAdminAlias := slices.Contains(att.Aliases, "shop-admin")
		if (att.Target == "backpack_admin") != hasAdminAlias {
			t.Errorf("network %s has aliases %v; the shop-admin alias belongs on backpack_admin only", att.Target, att.Aliases)
		}
	}
	if got := ExternalNetworks(p); !slices.Equal(got, []string{"backpack_admin", "backpack_public"}) {
		t.Errorf("external networks = %v", got)
	}
}
