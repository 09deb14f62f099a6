// Package golden owns the golden files of the tests: Check compares what a
// test produced with a file under its package's testdata directory and
// shows the difference; run the tests with -update (go test ./pkg
// -update) to rewrite the files instead. Only tests import it.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata instead of comparing with them")

// Updating reports whether the test run rewrites golden files (-update).
func Updating() bool { return *update }

// Check compares got with the file at path (relative to the test's
// package directory, usually under testdata/); with -update it writes got
// there instead, creating directories.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n%s", path, Diff(string(want), string(got)))
	}
}

// Diff shows the lines of want and got from the first that differs, a few
// of each, numbered.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d:\n", i+1)
	for k := i; k < len(w) && k < i+5; k++ {
		fmt.Fprintf(&b, "- %4d %s\n", k+1, w[k])
	}
	for k := i; k < len(g) && k < i+5; k++ {
		fmt.Fprintf(&b, "+ %4d %s\n", k+1, g[k])
	}
	return b.String()
}
