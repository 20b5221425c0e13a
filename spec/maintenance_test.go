package spec

import (
	"strings"
	"testing"
)

func TestMaintenanceMinFaultTolerance(t *testing.T) {
	doc := func(v string) []byte {
		return []byte("apiVersion: swarmtopo.dev/v1alpha1\nkind: SwarmTopology\nmetadata: {name: t}\nspec:\n" +
			"  managers: {count: 5}\n  policy:\n    maintenance:\n      minFaultTolerance: " + v + "\n")
	}
	top, err := Parse("t.yaml", doc("1"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := top.Spec.Policy.MinMaintenanceFaultTolerance(); got != 1 {
		t.Errorf("minFaultTolerance = %d; want 1", got)
	}
	_, err = Parse("t.yaml", doc("-1"))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:8: spec.policy.maintenance.minFaultTolerance: -1 is out of range") {
		t.Errorf("Parse(-1) = %v; want the field, its line and the range", err)
	}
}

func TestANegativeMaxUnavailableIsRefusedByName(t *testing.T) {
	_, err := Parse("t.yaml", []byte("apiVersion: swarmtopo.dev/v1alpha1\nkind: SwarmTopology\nmetadata: {name: x}\nspec:\n  managers: {count: 3}\n  policy:\n    maxUnavailable: -2\n"))
	if err == nil || !strings.Contains(err.Error(), "spec.policy.maxUnavailable: -2 is negative") {
		t.Errorf("err = %v; want it to name spec.policy.maxUnavailable", err)
	}
}
