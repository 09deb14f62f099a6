package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// layerTable lists the module's packages (import paths without the module
// prefix) from the lowest layer up. A package may import packages of
// lower layers only; packages in one layer do not import each other.
var layerTable = [][]string{
	{"internal/model", "internal/fsutil", "internal/web", "internal/state", "internal/golden", "internal/disktest", "internal/store/clickhouse/chtest"},
	{"internal/xrayview", "internal/state/postgres", "internal/state/postgres/pgtest"},
	{"internal/model/modeltest", "internal/state/statetest", "internal/xrayfilter", "internal/store", "internal/auth"},
	{"internal/store/sqlgen", "internal/store/storetest", "internal/ingest", "internal/query", "internal/sampling", "internal/servicegraph", "internal/api", "internal/notify"},
	{"internal/store/duckdb", "internal/store/clickhouse", "internal/upstream", "internal/ingest/otlp", "internal/ingest/xray", "internal/ingest/events", "internal/queryclient"},
	{"internal/api/honeycomb", "internal/api/query", "internal/api/ui", "internal/api/xray", "internal/forwarder"},
	{"internal/alerting"},
	{"internal/app"},
	{"cmd/tracecomb"},
}

// apartPrefixes lists module packages that stand on their own: they import no
// package of internal/ (the Cruddur example is an ordinary user of the
// OpenTelemetry and X-Ray SDKs), and only among themselves.
var apartPrefixes = []string{"examples/"}

// graph is the module's import graph (non-test imports), paths without
// the module prefix.
func graph(t *testing.T) (module string, imports map[string][]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module = strings.TrimSpace(string(out)) + "/"
	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports = map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(f[0], module)
		imports[pkg] = nil
		for _, imp := range f[1:] {
			if rest, ok := strings.CutPrefix(imp, module); ok {
				imports[pkg] = append(imports[pkg], rest)
			}
		}
	}
	return module, imports
}

func apart(pkg string) bool {
	for _, p := range apartPrefixes {
		if strings.HasPrefix(pkg, p) {
			return true
		}
	}
	return false
}

// check returns the violations of the rule in imports.
func check(imports map[string][]string) []string {
	layer := map[string]int{}
	for i, l := range layerTable {
		for _, p := range l {
			layer[p] = i
		}
	}
	var bad []string
	for pkg, deps := range imports {
		if pkg == "internal/layers" {
			continue
		}
		if apart(pkg) {
			for _, d := range deps {
				if !apart(d) {
					bad = append(bad, pkg+" imports "+d+": examples use only public libraries")
				}
			}
			continue
		}
		li, ok := layer[pkg]
		if !ok {
			bad = append(bad, pkg+" is in no layer: add it to layerTable in internal/layers")
			continue
		}
		for _, d := range deps {
			ld, ok := layer[d]
			switch {
			case d == "internal/app" && !strings.HasPrefix(pkg, "cmd/"):
				bad = append(bad, pkg+" imports internal/app: only cmd does")
			case !ok:
				// reported as a package of its own
			case ld >= li:
				bad = append(bad, pkg+" imports "+d+", which is not in a lower layer")
			}
		}
	}
	return bad
}

func TestImportRule(t *testing.T) {
	_, imports := graph(t)
	if len(imports) < 10 {
		t.Fatalf("go list found %d packages", len(imports))
	}
	for _, b := range check(imports) {
		t.Error(b)
	}
}

// TestCheckFindsViolations: the rule catches what it is for.
func TestCheckFindsViolations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		imports map[string][]string
		want    string
	}{
		{"upward", map[string][]string{"internal/model": {"internal/store"}}, "internal/model imports internal/store, which is not in a lower layer"},
		{"sideways", map[string][]string{"internal/ingest/otlp": {"internal/ingest/xray"}}, "which is not in a lower layer"},
		{"app", map[string][]string{"internal/api/ui": {"internal/app"}}, "only cmd does"},
		{"unknown", map[string][]string{"internal/newpkg": nil}, "internal/newpkg is in no layer"},
		{"example", map[string][]string{"examples/cruddur/internal/backend": {"internal/model"}}, "examples use only public libraries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := check(tc.imports)
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Fatalf("check = %q, want one containing %q", got, tc.want)
			}
		})
	}
	if got := check(map[string][]string{"cmd/tracecomb": {"internal/app"}, "internal/api/xray": {"internal/ingest/xray", "internal/model"}}); len(got) != 0 {
		t.Fatalf("allowed imports reported: %q", got)
	}
}
