package controlplane

import (
	"fmt"

	"github.com/backpackhq/backpack/controlplane/store"
)

// Secrets are sealed with the backend's name and their purpose as associated data, so a sealed
// value copied into another backend's row or field does not open.
func apiKeyAD(name string) []byte     { return []byte("backend/" + name + "/api-key") }
func adminTokenAD(name string) []byte { return []byte("backend/" + name + "/admin-token") }

func (s *Server) sealAPIKey(name, key string) []byte {
	return s.cfg.Secrets.Seal([]byte(key), apiKeyAD(name))
}

// backendSecrets opens a backend's API key and admin token.
func (s *Server) backendSecrets(b store.Backend) (apiKey, adminToken string, err error) {
	k, err := s.cfg.Secrets.Open(b.SealedAPIKey, apiKeyAD(b.Name))
	if err != nil {
		return "", "", fmt.Errorf("open API key of %s: %w", b.Name, err)
	}
	t, err := s.cfg.Secrets.Open(b.SealedAdminTok, adminTokenAD(b.Name))
	if err != nil {
		return "", "", fmt.Errorf("open admin token of %s: %w", b.Name, err)
	}
	return string(k), string(t), nil
}
