package aitrace

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai/policy"
	"github.com/otelcol-aiops/otelcol-aiops/processor/aitrace/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: &Config{
			KeepOriginalKeys: false, Dialects: []string{"openinference", "vercel_ai"},
			CustomMappings: map[string]string{"app.llm.model": "gen_ai.request.model"},
		}},
		{id: component.NewIDWithName(metadata.Type, "policy"), want: &Config{KeepOriginalKeys: true}},
		{id: component.NewIDWithName(metadata.Type, "hash_without_key"), wantErr: "policy.hash_key: required because pii.email uses the hash action"},
		{id: component.NewIDWithName(metadata.Type, "bad_action"), wantErr: `secret.jwt: unknown action "obliterate"`},
		{id: component.NewIDWithName(metadata.Type, "bad_dialect"), wantErr: `dialects: unknown dialect "klingon"`},
		{id: component.NewIDWithName(metadata.Type, "self_map"), wantErr: `maps to itself`},
		{id: component.NewIDWithName(metadata.Type, "joins"), want: &Config{KeepOriginalKeys: true}},
		{id: component.NewIDWithName(metadata.Type, "bad_wait"), wantErr: "join.logs_wait: must be between 0 (off) and 1m"},
		{id: component.NewIDWithName(metadata.Type, "memory_without_window"), wantErr: "span_memory.window: must be positive"},
	}
	for _, c := range cases {
		t.Run(c.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(c.id.String())
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Unmarshal(cfg); err != nil {
				t.Fatal(err)
			}
			err = confmap.Validate(cfg)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want error containing %q, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.(*Config)
			if got.KeepOriginalKeys != c.want.KeepOriginalKeys || len(got.Dialects) != len(c.want.Dialects) || len(got.CustomMappings) != len(c.want.CustomMappings) {
				t.Fatalf("got %+v want %+v", got, c.want)
			}
			if c.id.Name() == "joins" {
				want := JoinConfig{LogsWait: 2 * time.Second, ParentWait: 500 * time.Millisecond, MaxHeld: 1000}
				if got.Join != want || got.SpanMemory != (SpanMemoryConfig{MaxSpans: 50000, Window: 2 * time.Minute}) {
					t.Fatalf("joins config %+v %+v", got.Join, got.SpanMemory)
				}
			}
			if c.id.Name() == "policy" {
				acts, err := got.actions()
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"pii.email": "hash", "pii.ip_address": "detect", "secret.jwt": "drop_content", "injection.override": "off"}
				for name, a := range want {
					d, _ := policy.Lookup(name)
					if acts[d].String() != a {
						t.Errorf("%s = %s, want %s", name, acts[d], a)
					}
				}
				if got.Content.Capture != "digest" || got.Content.MaxScanBytes != 1<<20 || got.Policy.MinBase64Length != 120 || got.Agent.LoopThreshold != 4 || got.DedupeUsage {
					t.Errorf("policy config %+v", got)
				}
				if got.Policy.HashKey.String() == "a-key-from-the-environment" {
					t.Error("hash key printable")
				}
			}
		})
	}
}
