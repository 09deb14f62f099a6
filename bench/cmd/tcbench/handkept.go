package main

import "strings"

// Sections of docs/benchmarks.md that are not the harness's own (Go
// benchmarks of single components, the trace page's browser measurement)
// have "tracecomb only)" at the end of their heading. A full run rewrites
// the file; keepHandSections carries those sections over from the file it
// replaces, in their order, before the new file's Retention section (or its
// Goals, or at its end).
const handKeptMark = "tracecomb only)"

// handSections returns the hand-kept sections of md, each from its heading
// to the next "## " heading.
func handSections(md string) []string {
	var out []string
	for _, sec := range splitSections(md) {
		if title, _, _ := strings.Cut(sec, "\n"); strings.HasPrefix(title, "## ") && strings.HasSuffix(strings.TrimSpace(title), handKeptMark) && !isHarnessSection(title) {
			out = append(out, sec)
		}
	}
	return out
}

// isHarnessSection tells the sections the harness writes itself, which
// also say "tracecomb only".
func isHarnessSection(title string) bool {
	for _, h := range []string{"## X-Ray daemon door", "## The same spans as events and logs", retentionHeading} {
		if strings.HasPrefix(title, strings.TrimSpace(h)) {
			return true
		}
	}
	return false
}

// splitSections cuts md before every line starting with "## ".
func splitSections(md string) []string {
	var out []string
	start := 0
	for i := 0; i < len(md); {
		j := strings.Index(md[i:], "\n## ")
		if j < 0 {
			break
		}
		cut := i + j + 1
		out = append(out, md[start:cut])
		start, i = cut, cut
	}
	return append(out, md[start:])
}

// keepHandSections inserts old's hand-kept sections into fresh.
func keepHandSections(old, fresh string) string {
	kept := handSections(old)
	if len(kept) == 0 {
		return fresh
	}
	block := strings.Join(kept, "")
	if !strings.HasSuffix(block, "\n\n") {
		block = strings.TrimRight(block, "\n") + "\n\n"
	}
	for _, anchor := range []string{"\n" + strings.TrimSpace(retentionHeading), "\n## Goals"} {
		if i := strings.Index(fresh, anchor); i >= 0 {
			return fresh[:i+1] + block + fresh[i+1:]
		}
	}
	return strings.TrimRight(fresh, "\n") + "\n\n" + strings.TrimRight(block, "\n") + "\n"
}
