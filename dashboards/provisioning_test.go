package dashboards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestProvisioning: the data source is the ClickHouse plugin, configured
// from the environment; the dashboard provider loads this directory.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID string
			IsDefault       bool `yaml:"isDefault"`
			Editable        bool
			JSONData        map[string]any    `yaml:"jsonData"`
			SecureJSONData  map[string]string `yaml:"secureJsonData"`
		}
	}
	readYAML(t, "provisioning/datasources/clickhouse.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("%+v", ds)
	}
	d := ds.Datasources[0]
	if d.Type != "grafana-clickhouse-datasource" || d.JSONData["protocol"] != "native" || d.JSONData["defaultDatabase"] != "aiops" {
		t.Errorf("data source %+v", d)
	}
	for _, v := range []any{d.JSONData["host"], d.JSONData["username"], d.SecureJSONData["password"]} {
		if s, _ := v.(string); !strings.HasPrefix(s, "${") {
			t.Errorf("%v: want an environment variable", v)
		}
	}
	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Folder, Type    string
			DisableDeletion       bool `yaml:"disableDeletion"`
			AllowUIUpdates        bool `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int  `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string
				FoldersFromFilesStructure bool `yaml:"foldersFromFilesStructure"`
			}
		}
	}
	readYAML(t, "provisioning/dashboards/aiops.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || dp.Providers[0].Options.Path == "" {
		t.Fatalf("%+v", dp)
	}
}

// TestComposeMountsExist: every host path the compose example mounts or
// builds from exists, Grafana installs the plugin, and ClickHouse is ≥ 24.8.
func TestComposeMountsExist(t *testing.T) {
	dir := filepath.Join("..", "deploy", "compose")
	var c struct {
		Services map[string]struct {
			Image       string
			Volumes     []string
			Environment map[string]string
			Build       *struct{ Context, Dockerfile string }
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"clickhouse", "grafana", "otelcol-aiops"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
				t.Errorf("%s: volume %s: %v", name, v, err)
			}
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(dir, s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("%s: build: %v", name, err)
			}
		}
	}
	if g := c.Services["grafana"]; g.Environment["GF_INSTALL_PLUGINS"] != "grafana-clickhouse-datasource" {
		t.Errorf("grafana does not install the ClickHouse plugin")
	}
	if img := c.Services["clickhouse"].Image; img != "clickhouse/clickhouse-server:24.8" {
		t.Errorf("clickhouse image %s", img)
	}
}
