package sampling

import (
	"unicode"
	"unicode/utf8"
)

// Glob reports whether s matches pattern as X-Ray sampling rules match:
// the whole string, case-insensitively, where '*' matches any run of
// characters (including none) and '?' exactly one character. An empty
// pattern matches only the empty string.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, -1
	for i < len(s) {
		if p < len(pattern) {
			pr, pw := utf8.DecodeRuneInString(pattern[p:])
			if pr == '*' {
				p += pw
				starP, starI = p, i
				continue
			}
			sr, sw := utf8.DecodeRuneInString(s[i:])
			if pr == '?' || foldEqual(pr, sr) {
				p += pw
				i += sw
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' absorb one more character and retry.
		_, sw := utf8.DecodeRuneInString(s[starI:])
		starI += sw
		p, i = starP, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	return unicode.ToLower(a) == unicode.ToLower(b)
}
