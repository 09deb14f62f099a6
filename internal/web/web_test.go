package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestAssetsHasIndex(t *testing.T) {
	fsys, built := Assets()
	b, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatalf("index.html: %v", err)
	}
	if built {
		if !strings.Contains(string(b), "<div id=\"root\">") {
			t.Fatalf("built index.html has no root element:\n%s", b)
		}
		return
	}
	if string(b) != Placeholder {
		t.Fatalf("placeholder index.html = %q", b)
	}
	if _, err := fs.Stat(fsys, "assets"); err == nil {
		t.Fatal("placeholder has an assets directory")
	}
}
