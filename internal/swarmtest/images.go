package swarmtest

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// The images scripts/build-images.sh builds: Backpack's own, and offline stand-ins for the
// official images a backend stack and the platform stack use in production, since no registry
// can be reached where the tests run.
const (
	APIImage          = "backpackhq/backpack-api:latest"
	ControlPlaneImage = "backpackhq/backpack:latest"
	MongoImage        = "backpack-test/mongo:7"
	RedisImage        = "backpack-test/redis:7"
	WebImage          = "backpack-test/nginx:1"
	PostgresImage     = "backpack-test/postgres:15"
)

// StackImages are the images one backend stack runs in tests.
func StackImages() []string { return []string{APIImage, MongoImage, RedisImage, WebImage} }

// RequireImages skips the test (fails it under CI) unless the engine has every image.
func RequireImages(t testing.TB, cli *client.Client, images ...string) {
	t.Helper()
	var absent []string
	for _, image := range images {
		_, err := cli.ImageInspect(context.Background(), image)
		switch {
		case errdefs.IsNotFound(err):
			absent = append(absent, image)
		case err != nil:
			t.Fatalf("inspect image %s: %v", image, err)
		}
	}
	if len(absent) > 0 {
		missing(t, "images "+strings.Join(absent, ", "), "build them with: sudo bash scripts/build-images.sh")
	}
}
