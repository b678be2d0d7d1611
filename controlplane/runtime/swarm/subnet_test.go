package swarm

import "testing"

func TestSubnetTrusted(t *testing.T) {
	trusted := []string{"10.213.0.0/16", "192.0.2.7"}
	for subnet, want := range map[string]bool{
		"10.213.0.0/16": true,
		"10.213.4.0/24": true,
		"10.0.1.0/24":   false, // a backpack_public made without --subnet
		"10.0.0.0/8":    false, // wider than the trusted range
		"not a subnet":  false,
	} {
		if got := subnetTrusted(subnet, trusted); got != want {
			t.Errorf("subnetTrusted(%q) = %v, want %v", subnet, got, want)
		}
	}
}
