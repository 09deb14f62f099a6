package app

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestREADME keeps the README's promises checkable: it names every
// prerequisite of its two commands, and every --flag it mentions is a flag
// of a tracecomb command (or of the AWS CLI commands it shows).
func TestREADME(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	_, prereq, _ := strings.Cut(readme, "Prerequisites:")
	prereq, _, _ = strings.Cut(prereq, "\n\n")
	for _, want := range []string{"Go 1.26", "C compiler", "Node.js", "npm"} {
		if !strings.Contains(prereq, want) {
			t.Errorf("the README's prerequisites do not name %s", want)
		}
	}
	for _, want := range []string{"make run", "make test", "export KEY=", "$TRACE_ID", "bin/tracecomb query --endpoint"} {
		if !strings.Contains(readme, want) {
			t.Errorf("the README lacks %q", want)
		}
	}

	var usage bytes.Buffer
	for _, args := range [][]string{{"serve", "-h"}, {"query", "-h"}, {"keys", "create", "-h"}} {
		Main(context.Background(), args, &usage, &usage)
	}
	usage.WriteString(daemonUsage)
	awsCLI := map[string]bool{"endpoint-url": true, "no-sign-request": true, "cli-input-json": true, "group-name": true,
		"filter-expression": true, "region": true, "start-time": true, "end-time": true, "destination": true, "name": true, "rule": true}
	for _, m := range regexp.MustCompile(`--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(readme, -1) {
		name := m[1]
		if awsCLI[name] {
			continue
		}
		if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(usage.String()) {
			t.Errorf("the README mentions --%s, which no tracecomb command takes", name)
		}
	}
}

// TestComposeFiles: both compose files parse, and the one against tracecomb
// publishes its doors on the host's loopback only (its key is well known
// and the X-Ray door takes no credentials).
func TestComposeFiles(t *testing.T) {
	for _, name := range []string{"docker-compose.yml", "docker-compose.honeycomb.yml"} {
		raw, err := os.ReadFile("../../" + name)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Services map[string]struct {
				Ports []string `yaml:"ports"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(f.Services) == 0 {
			t.Fatalf("%s has no services", name)
		}
		if name != "docker-compose.yml" {
			continue
		}
		tc, ok := f.Services["tracecomb"]
		if !ok || len(tc.Ports) == 0 {
			t.Fatalf("%s: no tracecomb service with ports", name)
		}
		for _, p := range tc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q beyond the host's loopback", name, p)
			}
		}
	}
}
