package genaifeedback

import (
	"fmt"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/client"
)

func TestKeySetForgetsAfterTTLAndBeyondCapacity(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := newKeySet(3, time.Hour)
	dup, reserved, _ := s.reserve([]string{"a", "", "a", "b"}, t0)
	if fmt.Sprint(dup, reserved) != "[false false true false] [a b]" {
		t.Fatalf("first reserve: %v %v", dup, reserved)
	}
	s.commit(reserved, t0)
	if dup, _, _ := s.reserve([]string{"a", "b"}, t0.Add(59*time.Minute)); fmt.Sprint(dup) != "[true true]" {
		t.Fatalf("within ttl: %v", dup)
	}
	dup, reserved, _ = s.reserve([]string{"a"}, t0.Add(time.Hour))
	if fmt.Sprint(dup, reserved) != "[false] [a]" {
		t.Fatalf("after ttl: %v %v", dup, reserved)
	}
	s.commit(reserved, t0.Add(time.Hour))
	_, reserved, _ = s.reserve([]string{"c", "d", "e"}, t0.Add(time.Hour))
	s.commit(reserved, t0.Add(time.Hour))
	if s.len() != 3 {
		t.Fatalf("%d keys kept, want the cap of 3", s.len())
	}
	if dup, _, _ := s.reserve([]string{"a", "e"}, t0.Add(time.Hour)); fmt.Sprint(dup) != "[false true]" {
		t.Fatalf("the oldest key should be pushed out first: %v", dup)
	}
}

func TestKeySetPendingKeys(t *testing.T) {
	now := time.Now()
	s := newKeySet(10, time.Hour)
	_, mine, _ := s.reserve([]string{"x", "y"}, now)
	if _, got, inFlight := s.reserve([]string{"z", "y"}, now); inFlight != "y" || got != nil {
		t.Fatalf("in flight %q, reserved %v", inFlight, got)
	}
	// The conflicting request reserved nothing: z is free.
	if _, got, inFlight := s.reserve([]string{"z"}, now); inFlight != "" || len(got) != 1 {
		t.Fatalf("z: %q %v", inFlight, got)
	}
	s.release(mine)
	if dup, got, inFlight := s.reserve([]string{"x", "y"}, now); inFlight != "" || fmt.Sprint(dup) != "[false false]" || len(got) != 2 {
		t.Fatalf("released keys are free again: %q %v %v", inFlight, dup, got)
	}
}

func TestLimiterRefillsAndBoundsClients(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimitConfig{RequestsPerSecond: 2, Burst: 2, MaxClients: 2})
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("a", t0); !ok {
			t.Fatal("burst refused")
		}
	}
	if ok, wait := l.allow("a", t0); ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: %v %v", ok, wait)
	}
	if ok, _ := l.allow("a", t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("no refill after 500ms at 2/s")
	}
	if ok, _ := l.allow("b", t0); !ok {
		t.Fatal("another client shares a's bucket")
	}
	l.allow("c", t0) // pushes out a, the least recently used
	if len(l.buckets) != 2 || l.buckets["a"] != nil {
		t.Fatalf("buckets kept: %v", l.buckets)
	}
}

type authData map[string]any

func (a authData) GetAttribute(k string) any { return a[k] }
func (a authData) GetAttributeNames() []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	return out
}

func TestClientKeyPrefersAuthenticatedIdentity(t *testing.T) {
	req := httptest.NewRequest("POST", "/v1/feedback", nil)
	req.RemoteAddr = "192.0.2.7:51000"
	if k := clientKey(req); k != "ip:192.0.2.7" {
		t.Errorf("no client info: %s", k)
	}
	info := client.Info{Addr: &net.IPAddr{IP: net.ParseIP("2001:db8::1")}}
	if k := clientKey(req.WithContext(client.NewContext(req.Context(), info))); k != "ip:2001:db8::1" {
		t.Errorf("client address: %s", k)
	}
	info.Auth = authData{"subject": "widget-prod"}
	if k := clientKey(req.WithContext(client.NewContext(req.Context(), info))); k != "auth:widget-prod" {
		t.Errorf("authenticated: %s", k)
	}
	info.Auth = authData{"membership": []string{"x"}}
	if k := clientKey(req.WithContext(client.NewContext(req.Context(), info))); k != "ip:2001:db8::1" {
		t.Errorf("auth data without an identity: %s", k)
	}
}
