package otlp

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"

	"github.com/tracecomb/tracecomb/internal/model"
)

const (
	// maxFlattenDepth is how deep a kvlist value is flattened into dotted
	// keys; deeper lists become JSON strings.
	maxFlattenDepth = 5
	// maxJSONString caps the JSON text of array, bytes and deep kvlist values.
	maxJSONString = 65535
)

// put sets one field with override semantics: hot fields go through
// Event.Set (or to baseHot while the base is built); other keys replace an
// attribute of the same key or are appended.
func (c *converter) put(e *model.Event, key string, v model.Value) {
	hot, bit := classify(key)
	c.mask |= bit
	if hot {
		if key == model.FieldServiceName && v.Kind != model.KindString {
			// service.name is a string column everywhere; keep the value as text.
			v = model.Str(v.String())
		}
		if c.deferHot {
			c.baseHot = append(c.baseHot, model.Attr{Key: key, Value: v})
			return
		}
		c.setHot(e, key, v)
		return
	}
	c.putAttr(e, key, v)
}

// setHot assigns a hot field. A value Event.Set would keep as an ordinary
// attribute (wrong type, unparseable id) takes the indexed attribute path
// instead, so no input can make attribute handling quadratic.
func (c *converter) setHot(e *model.Event, key string, v model.Value) {
	fits := false
	switch key {
	case model.FieldName, model.FieldServiceName, model.FieldSpanKind, model.FieldAnnotationType:
		fits = v.Kind == model.KindString
	case model.FieldDurationMs:
		fits = v.Kind == model.KindFloat || v.Kind == model.KindInt
	case model.FieldStatusCode:
		fits = v.Kind == model.KindInt
	case model.FieldError:
		fits = v.Kind == model.KindBool
	case model.FieldTraceID:
		if v.Kind == model.KindString {
			_, err := model.ParseTraceID(v.Str)
			fits = err == nil
		}
	case model.FieldSpanID, model.FieldParentID:
		if v.Kind == model.KindString {
			_, err := model.ParseSpanID(v.Str)
			fits = err == nil
		}
	case model.FieldType:
		if v.Kind == model.KindString && v.Str == e.SpanKind {
			return // Honeycomb's repeat of span.kind: the member holds it
		}
	}
	if fits {
		e.Set(key, v)
		return
	}
	c.putAttr(e, key, v)
}

// indexFrom is the attribute count from which an event's keys are looked
// up in a map rather than scanned.
const indexFrom = 32

// putAttr sets an ordinary attribute, replacing one of the same key.
func (c *converter) putAttr(e *model.Event, key string, v model.Value) {
	if len(e.Attrs) >= indexFrom {
		c.ensureIndex(e)
		if i, ok := c.index[key]; ok {
			e.Attrs[i].Value = v
			return
		}
		c.index[key] = len(e.Attrs)
		e.Attrs = append(e.Attrs, model.Attr{Key: key, Value: v})
		return
	}
	if b := keyBit(key); c.bloom&b == 0 {
		c.bloom |= b // certainly a new key: skip the scan
	} else {
		for i := range e.Attrs {
			if e.Attrs[i].Key == key {
				e.Attrs[i].Value = v
				return
			}
		}
	}
	e.Attrs = append(e.Attrs, model.Attr{Key: key, Value: v})
}

// ensureIndex maps the current event's keys to their positions, once per
// event (gen changes with every event).
func (c *converter) ensureIndex(e *model.Event) {
	if c.index != nil && c.indexGen == c.gen {
		return
	}
	if c.index == nil {
		c.index = make(map[string]int, 2*indexFrom)
	} else {
		clear(c.index)
	}
	for i := range e.Attrs {
		c.index[e.Attrs[i].Key] = i
	}
	c.indexGen = c.gen
}

// keyBit maps a key to one of 64 bits; the set of bits of an event's keys
// (converter.bloom) tells most new keys apart without scanning Attrs.
func keyBit(key string) uint64 {
	n := len(key)
	if n == 0 {
		return 1
	}
	h := uint32(n)*0x9e3779b1 ^ uint32(key[0])<<16 ^ uint32(key[n-1])<<8 ^ uint32(key[n/2])
	if n > 1 {
		h ^= uint32(key[n-2]) << 24
	}
	h *= 0x85ebca6b
	return 1 << (h >> 26)
}

// putAll flattens OTLP attributes onto e; later ones win.
func (c *converter) putAll(e *model.Event, kvs []*commonpb.KeyValue) {
	for _, kv := range kvs {
		if kv == nil || kv.Key == "" {
			continue
		}
		c.putValue(e, kv.Key, kv.Value, 0)
	}
}

// putValue flattens one attribute value: scalars stay typed, bytes and
// arrays become JSON text, kvlists become dotted keys up to
// maxFlattenDepth and JSON text beyond.
func (c *converter) putValue(e *model.Event, key string, av *commonpb.AnyValue, depth int) {
	switch v := av.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		c.put(e, key, model.Str(v.StringValue))
	case *commonpb.AnyValue_BoolValue:
		c.put(e, key, model.Bool(v.BoolValue))
	case *commonpb.AnyValue_IntValue:
		c.put(e, key, model.Int(v.IntValue))
	case *commonpb.AnyValue_DoubleValue:
		c.put(e, key, model.Float(v.DoubleValue))
	case *commonpb.AnyValue_BytesValue, *commonpb.AnyValue_ArrayValue:
		c.put(e, key, model.Str(jsonText(av)))
	case *commonpb.AnyValue_KvlistValue:
		if depth >= maxFlattenDepth {
			c.put(e, key, model.Str(jsonText(av)))
			return
		}
		for _, kv := range v.KvlistValue.GetValues() {
			if kv == nil || kv.Key == "" {
				continue
			}
			c.putValue(e, key+"."+kv.Key, kv.Value, depth+1)
		}
	}
}

// jsonText renders a value as JSON followed by a newline, HTML characters
// unescaped, capped at maxJSONString bytes.
func jsonText(av *commonpb.AnyValue) string {
	b := appendAnyJSON(make([]byte, 0, 64), av, 0)
	b = append(b, '\n')
	if len(b) > maxJSONString {
		n := maxJSONString
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return string(b)
}

// maxJSONDepth stops runaway nesting when rendering values as JSON.
const maxJSONDepth = 64

func appendAnyJSON(dst []byte, av *commonpb.AnyValue, depth int) []byte {
	if depth > maxJSONDepth || len(dst) > maxJSONString {
		return append(dst, "null"...)
	}
	switch v := av.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return appendJSONString(dst, v.StringValue)
	case *commonpb.AnyValue_BoolValue:
		return strconv.AppendBool(dst, v.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.AppendInt(dst, v.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return appendJSONFloat(dst, v.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.BytesValue)
		return append(dst, '"')
	case *commonpb.AnyValue_ArrayValue:
		dst = append(dst, '[')
		for i, x := range v.ArrayValue.GetValues() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendAnyJSON(dst, x, depth+1)
		}
		return append(dst, ']')
	case *commonpb.AnyValue_KvlistValue:
		dst = append(dst, '{')
		first := true
		for _, kv := range v.KvlistValue.GetValues() {
			if kv == nil || kv.Key == "" {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, kv.Key)
			dst = append(dst, ':')
			dst = appendAnyJSON(dst, kv.Value, depth+1)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string without HTML escaping;
// invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
