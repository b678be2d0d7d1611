package stacktemplates

import (
	"bytes"
	"errors"

	"go.yaml.in/yaml/v3"
)

// legacyCompose adapts compose-go's YAML to the legacy compose loader of `docker stack deploy`
// (Docker Engine 20.10 to 24), which validates against the version 3.x schemas: it needs a
// `version`, knows no top-level `name`, and wants CPU limits as strings.
func legacyCompose(in []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("compose model is not a mapping")
	}
	root := doc.Content[0]
	var kept []*yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "name" && root.Content[i].Value != "version" {
			kept = append(kept, root.Content[i], root.Content[i+1])
		}
	}
	root.Content = append([]*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "version"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: composeFileVersion, Style: yaml.DoubleQuotedStyle},
	}, kept...)

	if services := lookup(root, "services"); services != nil {
		for i := 1; i < len(services.Content); i += 2 {
			for _, kind := range []string{"limits", "reservations"} {
				if cpus := lookup(services.Content[i], "deploy", "resources", kind, "cpus"); cpus != nil && cpus.Kind == yaml.ScalarNode {
					cpus.Tag, cpus.Style = "!!str", yaml.DoubleQuotedStyle
				}
			}
		}
	}

	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// lookup follows keys through nested mappings; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}
