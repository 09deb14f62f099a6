package xrayview

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Scalar is the one conversion of a JSON scalar (an annotation, an aws
// member, a header's version) to a Value: a string is a string, true and
// false are booleans, a number written without fraction or exponent that
// fits an int64 is an integer and any other number a float. Objects,
// arrays, null and malformed values give ok false. Surrounding white space
// is ignored.
func Scalar(raw []byte) (model.Value, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return model.Value{}, false
	}
	switch raw[0] {
	case '"':
		s, ok := JSONString(raw)
		return model.Str(s), ok
	case 't', 'f':
		if b, ok := JSONBool(raw); ok {
			return model.Bool(b), true
		}
		return model.Value{}, false
	case '{', '[', 'n':
		return model.Value{}, false
	}
	if !bytes.ContainsAny(raw, ".eE") {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return model.Int(n), true
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return model.Value{}, false
	}
	return model.Float(f), true
}

// JSONString reads a JSON string.
func JSONString(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if in := raw[1 : len(raw)-1]; bytes.IndexByte(in, '\\') < 0 && bytes.IndexByte(in, '"') < 0 && utf8.Valid(in) && !hasControl(in) {
		return string(in), true // nothing to unescape
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// JSONNumber reads a JSON number (not a string holding one).
func JSONNumber(raw []byte) (float64, bool) {
	v, ok := Scalar(raw)
	switch {
	case !ok:
		return 0, false
	case v.Kind == model.KindInt:
		return float64(v.Int), true
	case v.Kind == model.KindFloat:
		return v.Flt, true
	}
	return 0, false
}

// JSONBool reads a JSON true or false.
func JSONBool(raw []byte) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// JSONInt reads an integer written as a number (an integral float is
// accepted) or as a string holding one; X-Ray SDKs have sent
// content_length and status both ways.
func JSONInt(raw []byte) (int64, bool) {
	v, ok := Scalar(raw)
	if !ok {
		return 0, false
	}
	switch v.Kind {
	case model.KindInt:
		return v.Int, true
	case model.KindFloat:
		if v.Flt == math.Trunc(v.Flt) && math.Abs(v.Flt) < 1<<53 {
			return int64(v.Flt), true
		}
	case model.KindString:
		if n, err := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

func jsonValid(doc []byte) bool { return json.Valid(doc) }

// jsonSyntaxError says why doc is not valid JSON.
func jsonSyntaxError(doc []byte) error {
	var v any
	err := json.Unmarshal(doc, &v)
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return err
}
