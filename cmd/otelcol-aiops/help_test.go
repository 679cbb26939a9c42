package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// execRoot runs the binary's command line in-process.
func execRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := rootCommand(settings())
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestHelpNamesEachFlagValue: pflag shows a backquoted word of a flag's
// usage as its value name, so a backquoted phrase turned --libchdb's into
// "--libchdb make libchdb". Every flag of every command, ours and the
// core's, must name its value with one word.
func TestHelpNamesEachFlagValue(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if name, _ := pflag.UnquoteUsage(f); strings.ContainsAny(name, " \t") {
				t.Errorf("%s --%s: value name %q", c.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(rootCommand(settings()))

	for args, want := range map[string][]string{
		"query --help":    {"--libchdb path ", "--data-dir directory ", "--endpoint url ", "--password-file file "},
		"score --help":    {"--libchdb path ", "--endpoint url ", "--endpoint http://127.0.0.1:8123"},
		"validate --help": {"--config uri "},
		"--help":          {"--config uri "},
	} {
		out, err := execRoot(t, strings.Fields(args)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", args, w, out)
			}
		}
		if strings.Contains(out, "make libchdb  ") || strings.Contains(out, "--config --config") {
			t.Errorf("%s still names a value with a phrase:\n%s", args, out)
		}
	}
}
