package convert

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
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
	// What makes the api's updates fail no request reaches the service spec: the healthcheck
	// that keeps a new task out of Traefik until ready, the stop grace that covers the drain,
	// and a start-first update that pauses, rather than rolls back, when it fails.
	c := api.TaskTemplate.ContainerSpec
	wantHealth := &container.HealthConfig{Test: []string{"CMD", "/backpack-api", "healthcheck"},
		Interval: 2 * time.Second, Timeout: 3 * time.Second, StartPeriod: time.Minute, Retries: 5}
	if !reflect.DeepEqual(c.Healthcheck, wantHealth) {
		t.Errorf("api healthcheck = %+v, want %+v", c.Healthcheck, wantHealth)
	}
	if c.StopGracePeriod == nil || *c.StopGracePeriod != 40*time.Second {
		t.Errorf("api stop grace period = %v, want 40s", c.StopGracePeriod)
	}
	wantUpdate := &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStartFirst, FailureAction: swarm.UpdateFailureActionPause, Monitor: 10 * time.Second}
	if !reflect.DeepEqual(api.UpdateConfig, wantUpdate) {
		t.Errorf("api update config = %+v, want %+v", api.UpdateConfig, wantUpdate)
	}
	if r := api.RollbackConfig; r == nil || r.Order != swarm.UpdateOrderStartFirst {
		t.Errorf("api rollback config = %+v, want start-first", r)
	}
	for _, name := range []string{"shop_mongo", "shop_redis", "shop_web"} {
		if h := specs[name].TaskTemplate.ContainerSpec.Healthcheck; h != nil {
			t.Errorf("%s has a healthcheck %+v", name, h)
		}
	}
}
