package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/swarm"
)

// Kind tells a DataFunc whether it is asked for a secret or a config.
type Kind string

// The kinds of Swarm objects whose data comes from the stack.
const (
	KindSecret Kind = "secret"
	KindConfig Kind = "config"
)

// maxDataSize is the engine's limit for one secret or config (500 KiB, exclusive).
const maxDataSize = 500 * 1024

// DataFunc returns the data of the secret or config declared under key, from its `file`,
// `environment` or `content`. The converter never reads files or the environment itself: the
// runtime decides where data comes from (its own environment map, embedded files), which
// keeps conversion pure and testable.
type DataFunc func(kind Kind, key string, def types.FileObjectConfig) ([]byte, error)

// InlineData serves `content` as written and `environment` from env (the environment the
// stack was loaded with), and refuses `file`, which a runtime that allows it must read itself.
func InlineData(env types.Mapping) DataFunc {
	return func(kind Kind, key string, def types.FileObjectConfig) ([]byte, error) {
		switch {
		case def.Environment != "":
			v, ok := env[def.Environment]
			if !ok {
				return nil, fmt.Errorf("environment variable %s is not set", def.Environment)
			}
			return []byte(v), nil
		case def.File != "":
			return nil, fmt.Errorf("file %s: files are not read; use content or environment", def.File)
		default:
			return []byte(def.Content), nil
		}
	}
}

// Secrets returns the secrets the stack creates (external ones are only referenced), keyed
// by Swarm name, with their data and its digest label. Swarm secrets cannot change: when the
// digest differs from the existing secret's, the runtime must create the data under a new
// name.
func Secrets(p *types.Project, namespace string, data DataFunc) (map[string]swarm.SecretSpec, error) {
	if err := check(p, namespace); err != nil {
		return nil, err
	}
	out := map[string]swarm.SecretSpec{}
	var errs []error
	for _, key := range sortedKeys(p.Secrets) {
		def := types.FileObjectConfig(p.Secrets[key])
		if def.External {
			continue
		}
		a, b, err := fileObject(namespace, KindSecret, key, def, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[a.Name] = swarm.SecretSpec{Annotations: a, Data: b}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Configs returns the configs the stack creates (external ones are only referenced), keyed by
// Swarm name, with their data and its digest label. Configs cannot change either: new data
// means a new name.
func Configs(p *types.Project, namespace string, data DataFunc) (map[string]swarm.ConfigSpec, error) {
	if err := check(p, namespace); err != nil {
		return nil, err
	}
	out := map[string]swarm.ConfigSpec{}
	var errs []error
	for _, key := range sortedKeys(p.Configs) {
		def := types.FileObjectConfig(p.Configs[key])
		if def.External {
			continue
		}
		a, b, err := fileObject(namespace, KindConfig, key, def, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[a.Name] = swarm.ConfigSpec{Annotations: a, Data: b}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Digest is the value of LabelDigest for data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func fileObject(namespace string, kind Kind, key string, def types.FileObjectConfig, data DataFunc) (swarm.Annotations, []byte, error) {
	if data == nil {
		return swarm.Annotations{}, nil, fmt.Errorf("%s %q: no data source", kind, key)
	}
	b, err := data(kind, key, def)
	if err != nil {
		return swarm.Annotations{}, nil, fmt.Errorf("%s %q: %w", kind, key, err)
	}
	if len(b) == 0 || len(b) >= maxDataSize {
		// The engine's own bounds, reported with the object's name rather than at create.
		return swarm.Annotations{}, nil, fmt.Errorf("%s %q: data is %d bytes; Swarm takes 1 byte to 500 KiB",
			kind, key, len(b))
	}
	labels := withNamespace(namespace, def.Labels)
	labels[LabelDigest] = Digest(b)
	return swarm.Annotations{Name: objectName(namespace, key, def.Name, false), Labels: labels}, b, nil
}
