package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/swarm"
)

func digest(data string) string {
	sum := sha256.Sum256([]byte(data))
	return "sha256:" + hex.EncodeToString(sum[:])
}

const objectsStack = `
services:
  api:
    image: img
    secrets: [api_key, admin_token, vault]
    configs: [nginx, shared_conf]
secrets:
  api_key: {environment: API_KEY, labels: {com.example.use: api}}
  admin_token: {environment: ADMIN_TOKEN, name: shop_admin_token_v2}
  vault: {external: true, name: backpack_vault}
configs:
  nginx: {content: "server { listen 80; }"}
  shared_conf: {external: true}
`

func TestSecretsAndConfigs(t *testing.T) {
	p := load(t, objectsStack, map[string]string{"API_KEY": "key-1", "ADMIN_TOKEN": "token-1"})
	secrets, err := Secrets(p, testNamespace, InlineData(p.Environment))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "secrets", secrets, map[string]swarm.SecretSpec{
		"shop_api_key": {Annotations: swarm.Annotations{Name: "shop_api_key", Labels: map[string]string{
			LabelNamespace: "shop", LabelDigest: digest("key-1"), "com.example.use": "api",
		}}, Data: []byte("key-1")},
		"shop_admin_token_v2": {Annotations: swarm.Annotations{Name: "shop_admin_token_v2", Labels: map[string]string{
			LabelNamespace: "shop", LabelDigest: digest("token-1"),
		}}, Data: []byte("token-1")},
	})
	configs, err := Configs(p, testNamespace, InlineData(p.Environment))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "configs", configs, map[string]swarm.ConfigSpec{
		"shop_nginx": {Annotations: swarm.Annotations{Name: "shop_nginx", Labels: map[string]string{
			LabelNamespace: "shop", LabelDigest: digest("server { listen 80; }"),
		}}, Data: []byte("server { listen 80; }")},
	})

	// The service refers to the same names, external ones by their own.
	specs, err := Services(p, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	cs := specs["shop_api"].TaskTemplate.ContainerSpec
	var names []string
	for _, s := range cs.Secrets {
		names = append(names, s.SecretName)
	}
	for _, c := range cs.Configs {
		names = append(names, c.ConfigName)
	}
	equal(t, "referenced names", names,
		[]string{"backpack_vault", "shop_admin_token_v2", "shop_api_key", "shared_conf", "shop_nginx"})
}

func TestDataComesFromTheDataFunc(t *testing.T) {
	p := load(t, `
services:
  web:
    image: img
    configs: [nginx]
    secrets: [tls]
configs:
  nginx: {file: ./nginx.conf}
secrets:
  tls: {file: ./tls.pem}
`, nil)
	var asked []string
	data := func(kind Kind, key string, def types.FileObjectConfig) ([]byte, error) {
		asked = append(asked, string(kind)+" "+key+" "+def.File[strings.LastIndexByte(def.File, '/')+1:])
		return []byte("data of " + key), nil
	}
	configs, err := Configs(p, testNamespace, data)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := Secrets(p, testNamespace, data)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "asked", asked, []string{"config nginx nginx.conf", "secret tls tls.pem"})
	equal(t, "data", []string{string(configs["shop_nginx"].Data), string(secrets["shop_tls"].Data)},
		[]string{"data of nginx", "data of tls"})

	// InlineData never reads files.
	_, err = Configs(p, testNamespace, InlineData(nil))
	if err == nil || !strings.HasPrefix(err.Error(), `config "nginx": file /`) ||
		!strings.HasSuffix(err.Error(), "/nginx.conf: files are not read; use content or environment") {
		t.Fatalf("file through InlineData: %v", err)
	}
}

func TestSecretDataErrors(t *testing.T) {
	p := load(t, objectsStack, map[string]string{"API_KEY": ""})
	_, err := Secrets(p, testNamespace, InlineData(p.Environment))
	want := []string{
		`secret "admin_token": environment variable ADMIN_TOKEN is not set`,
		`secret "api_key": data is 0 bytes; Swarm takes 1 byte to 500 KiB`,
	}
	equal(t, "errors", errorLines(err), want)

	_, err = Configs(p, testNamespace, func(Kind, string, types.FileObjectConfig) ([]byte, error) {
		return nil, errors.New("unreadable")
	})
	equal(t, "errors", errorLines(err), []string{`config "nginx": unreadable`})

	_, err = Configs(p, testNamespace, nil)
	equal(t, "errors", errorLines(err), []string{`config "nginx": no data source`})

	_, err = Configs(p, testNamespace, func(Kind, string, types.FileObjectConfig) ([]byte, error) {
		return make([]byte, 500*1024), nil
	})
	equal(t, "errors", errorLines(err), []string{`config "nginx": data is 512000 bytes; Swarm takes 1 byte to 500 KiB`})
}
