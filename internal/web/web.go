// Package web holds tracecomb's built web UI: the files `make web` writes
// into dist/ (from the TypeScript sources under web/ at the repository
// root), embedded in the binary. When the UI was not built, dist/ holds
// only a .keep file and Assets serves a placeholder page that says how to
// build it, so `go build` never needs Node.
package web

import (
	"embed"
	"io/fs"
	"testing/fstest"
)

//go:embed all:dist
var dist embed.FS

// Placeholder is the page served when the UI was not built.
const Placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tracecomb</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><h1>tracecomb</h1>
<p>This binary was built without its web UI. The APIs work as usual.</p>
<p>To build the UI, run <code>make web</code> (needs Node.js 20 and npm), then rebuild the binary
with <code>go build ./cmd/tracecomb</code>, or simply run <code>make run</code>.</p>
</body></html>
`

// Assets returns the UI's files rooted at the directory holding
// index.html, and whether they are the real build (false: the placeholder).
func Assets() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err == nil {
		if _, err := fs.Stat(sub, "index.html"); err == nil {
			return sub, true
		}
	}
	return fstest.MapFS{"index.html": &fstest.MapFile{Data: []byte(Placeholder), Mode: 0o444}}, false
}
