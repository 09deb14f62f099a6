package sampling

import (
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything/at/all", true},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"?", "", false},
		{"?", "a", true},
		{"?", "ab", false},
		{"??", "ab", true},
		{"backend-flask", "backend-flask", true},
		{"backend-flask", "Backend-Flask", true},
		{"BACKEND-*", "backend-flask", true},
		{"backend-flask", "backend-flask2", false},
		{"*flask", "backend-flask", true},
		{"*flask", "backend-flasks", false},
		{"/api/*", "/api/activities/home", true},
		{"/api/*", "/apix", false},
		{"*.example.com*", "ws-4567-abc.example.com:8080", true},
		{"*4567-abc.example.com*", "ws-4567-abc.example.com:8080", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"a*?", "a", false},
		{"a*?", "ab", true},
		{"*a*a*a*a*b", strings.Repeat("a", 40), false},
		{"G?T", "GET", true},
		{"G?T", "get", true},
		{"Ä*", "äb", true},
		{"?", "é", true},
		{"**", "x", true},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// globRef is a slow, obviously correct matcher used to check Glob.
func globRef(p, s []rune) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globRef(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return len(s) > 0 && globRef(p[1:], s[1:])
	}
	return len(s) > 0 && foldEqual(p[0], s[0]) && globRef(p[1:], s[1:])
}

func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{{"*", ""}, {"a*b?c", "aXbYc"}, {"*.example.com*", "ws.example.com:80"}, {"??", "é1"}, {"", ""}, {"*a*a*b", "aaaaaaaa"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 24 || len(s) > 24 {
			return // the reference matcher is exponential
		}
		got := Glob(pattern, s)
		if want := globRef([]rune(pattern), []rune(s)); got != want {
			t.Fatalf("Glob(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
		if !Glob("*", s) {
			t.Fatalf("* must match %q", s)
		}
	})
}

func BenchmarkGlob(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !Glob("*/api/activities/*", "/api/activities/home/with/a/longer/path") {
			b.Fatal("no match")
		}
	}
}
