package clusterapi

import (
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		connected bool
		age       time.Duration
		want      string
	}{
		{true, 0, StatusHealthy},
		{true, HealthyWithin, StatusHealthy},
		{true, HealthyWithin + time.Second, StatusDegraded},
		{false, time.Second, StatusDegraded},
		{false, DegradedWithin, StatusDegraded},
		{true, DegradedWithin + time.Second, StatusUnhealthy},
		{false, 24 * time.Hour, StatusUnhealthy},
	} {
		if got := Health(tc.connected, tc.age); got != tc.want {
			t.Errorf("Health(connected=%v, %s) = %s, want %s", tc.connected, tc.age, got, tc.want)
		}
	}
}

func TestBundleNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"prod": true, "prod-eu.1_b": true, "A": true, "": false, "-x": false, "a b": false, "a/b": false, "ü": false,
	} {
		if bundleName.MatchString(name) != ok {
			t.Errorf("name %q accepted = %v, want %v", name, !ok, ok)
		}
	}
}
