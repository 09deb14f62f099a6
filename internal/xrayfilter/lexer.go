package xrayfilter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // keyword, operator word or bare string
	tString         // "…", val holds the decoded text
	tNumber         // num holds the value
	tJSON           // #[…], json holds the decoded array
	tLParen
	tRParen
	tLBrace
	tRBrace
	tComma
	tColon
	tEq  // =
	tNe  // !=
	tLt  // <
	tLe  // <=
	tGt  // >
	tGe  // >=
	tNot // !
	tAnd // &&
	tOr  // ||
)

var punctText = [...]string{
	tLParen: "(", tRParen: ")", tLBrace: "{", tRBrace: "}", tComma: ",", tColon: ":",
	tEq: "=", tNe: "!=", tLt: "<", tLe: "<=", tGt: ">", tGe: ">=", tNot: "!", tAnd: "&&", tOr: "||",
}

type token struct {
	kind     tokKind
	pos, end int    // byte offsets in the source
	text     string // the source text
	val      string // decoded string (tString, tIdent)
	num      float64
	json     []any
}

// describe names a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tIdent:
		return strconv.Quote(clip(t.text))
	case tString:
		return "string " + strconv.Quote(clip(t.val))
	case tNumber:
		return "number " + clip(t.text)
	case tJSON:
		return "JSON value"
	}
	return strconv.Quote(punctText[t.kind])
}

func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, error) {
	toks := make([]token, 0, len(src)/4+1)
	i := 0
	for {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
			i++
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, pos: len(src), end: len(src)})
			return toks, nil
		}
		start := i
		c := src[i]
		two := ""
		if i+1 < len(src) {
			two = src[i : i+2]
		}
		var k tokKind
		switch {
		case two == "!=":
			k, i = tNe, i+2
		case two == "<=":
			k, i = tLe, i+2
		case two == ">=":
			k, i = tGe, i+2
		case two == "&&":
			k, i = tAnd, i+2
		case two == "||":
			k, i = tOr, i+2
		case c == '(':
			k, i = tLParen, i+1
		case c == ')':
			k, i = tRParen, i+1
		case c == '{':
			k, i = tLBrace, i+1
		case c == '}':
			k, i = tRBrace, i+1
		case c == ',':
			k, i = tComma, i+1
		case c == ':':
			k, i = tColon, i+1
		case c == '=':
			k, i = tEq, i+1
		case c == '<':
			k, i = tLt, i+1
		case c == '>':
			k, i = tGt, i+1
		case c == '!':
			k, i = tNot, i+1
		case c == '"':
			tok, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i = tok.end
			continue
		case c == '#':
			tok, err := lexJSON(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i = tok.end
			continue
		case isDigit(c) || (c == '-' || c == '.') && i+1 < len(src) && isDigit(src[i+1]) ||
			c == '-' && two == "-." && i+2 < len(src) && isDigit(src[i+2]):
			tok, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i = tok.end
			continue
		case isIdentStart(c):
			for i < len(src) && isIdentChar(src[i]) {
				i++
			}
			if strings.EqualFold(src[start:i], "annotation") && i < len(src) && src[i] == '[' {
				j := strings.IndexAny(src[i:], "]\n")
				if j < 0 || src[i+j] != ']' {
					return nil, newError(src, i, `unterminated "annotation["`, `expected "]" after the annotation key`)
				}
				i += j + 1
			}
			toks = append(toks, token{kind: tIdent, pos: start, end: i, text: src[start:i], val: src[start:i]})
			continue
		case c == '&' || c == '|':
			return nil, newError(src, i, fmt.Sprintf("unexpected %q", string(c)), fmt.Sprintf("write %c%c or %s", c, c, map[byte]string{'&': "AND", '|': "OR"}[c]))
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			want := "expected a keyword, a value, an operator or a parenthesis"
			if r == '\'' || r == '“' || r == '”' {
				want = `strings are written in straight double quotes ("…")`
			}
			return nil, newError(src, i, fmt.Sprintf("unexpected character %q", string(r)), want)
		}
		toks = append(toks, token{kind: k, pos: start, end: i, text: src[start:i]})
	}
}

// lexString reads a double-quoted string starting at src[i]. \" and \\ are
// escapes; any other backslash is kept as written.
func lexString(src string, i int) (token, error) {
	start := i
	i++
	var b strings.Builder
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return token{kind: tString, pos: start, end: i + 1, text: src[start : i+1], val: b.String()}, nil
		case c == '\\' && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\\'):
			b.WriteByte(src[i+1])
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return token{}, newError(src, start, "unterminated string", `expected a closing double quote (")`)
}

// lexNumber reads a decimal number: [-] digits [. digits] [e [+-] digits].
func lexNumber(src string, i int) (token, error) {
	start := i
	if src[i] == '-' {
		i++
	}
	digits := 0
	for i < len(src) && isDigit(src[i]) {
		i, digits = i+1, digits+1
	}
	if i < len(src) && src[i] == '.' {
		i++
		for i < len(src) && isDigit(src[i]) {
			i, digits = i+1, digits+1
		}
	}
	if digits > 0 && i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			i = j
		}
	}
	if i < len(src) && isIdentChar(src[i]) {
		for i < len(src) && isIdentChar(src[i]) {
			i++
		}
		return token{}, newError(src, start, fmt.Sprintf("invalid number %q", clip(src[start:i])), `write strings in double quotes ("…")`)
	}
	f, err := strconv.ParseFloat(src[start:i], 64)
	if err != nil {
		return token{}, newError(src, start, fmt.Sprintf("number %s is out of range", clip(src[start:i])), "")
	}
	if f == 0 {
		f = 0 // no negative zero, so that printing round-trips
	}
	return token{kind: tNumber, pos: start, end: i, text: src[start:i], num: f}, nil
}

// lexJSON reads "#[…]", a JSON array, starting at src[i] == '#'.
func lexJSON(src string, i int) (token, error) {
	start := i
	if i+1 >= len(src) || src[i+1] != '[' {
		return token{}, newError(src, i, `unexpected "#"`, `expected "#[" starting a JSON array`)
	}
	i++
	depth, inStr := 0, false
	for ; i < len(src); i++ {
		c := src[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if depth != 0 || i >= len(src) {
		return token{}, newError(src, start, "unterminated JSON array", `expected "]" closing "#["`)
	}
	raw := src[start+1 : i+1]
	var arr []any
	if err := json.Unmarshal([]byte(raw), &arr); err != nil {
		pos := start + 1
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset > 0 {
			pos += int(se.Offset) - 1
		}
		return token{}, newError(src, pos, "invalid JSON in rootcause.json", err.Error())
	}
	return token{kind: tJSON, pos: start, end: i + 1, text: src[start : i+1], json: arr}, nil
}
