package events

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/tracecomb/tracecomb/internal/model"
)

// The JSON decoders first check the whole body with json.Valid (so one
// broken byte anywhere is a malformed request, never a misread event),
// then walk it once without building any intermediate value.

// jsonReader walks a JSON text that json.Valid accepted.
type jsonReader struct {
	b []byte
	i int
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) peek() byte {
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// str reads the string at r.i: its content between the quotes, the token
// with its quotes, and whether it has escapes.
func (r *jsonReader) str() (raw, quoted []byte, esc bool) {
	start := r.i
	i := start + 1
	for i < len(r.b) {
		switch r.b[i] {
		case '"':
			r.i = i + 1
			return r.b[start+1 : i], r.b[start:r.i], esc
		case '\\':
			esc = true
			i += 2
			continue
		}
		i++
	}
	r.i = len(r.b)
	return r.b[min(start+1, len(r.b)):], r.b[start:], esc
}

// scalar reads a number or literal token.
func (r *jsonReader) scalar() []byte {
	start := r.i
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ',', '}', ']', ':', ' ', '\t', '\n', '\r':
			return r.b[start:r.i]
		}
		r.i++
	}
	return r.b[start:]
}

// skip steps over one value of any depth without recursion.
func (r *jsonReader) skip() {
	depth := 0
	for {
		r.ws()
		if r.i >= len(r.b) {
			return
		}
		switch r.b[r.i] {
		case '"':
			r.str()
		case '{', '[':
			depth++
			r.i++
			continue
		case '}', ']':
			depth--
			r.i++
		case ',', ':':
			r.i++
			continue
		default:
			r.scalar()
		}
		if depth <= 0 {
			return
		}
	}
}

// unescape decodes a quoted JSON string with escapes.
func unescape(quoted []byte) []byte {
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return nil
	}
	return []byte(s)
}

// jsonDecoder reads events' fields into a builder.
type jsonDecoder struct {
	r jsonReader
	b *builder
}

// object reads the object at r.i as fields named under the key being
// built (b.key), expanding nested objects while level is below the
// dataset's expand_json_depth.
func (d *jsonDecoder) object(level int) {
	r, b := &d.r, d.b
	r.i++ // '{'
	plen := len(b.key)
	for {
		r.ws()
		if c := r.peek(); c == '}' || c == 0 {
			r.i++
			b.key = b.key[:plen]
			return
		}
		if r.peek() != '"' { // cannot happen after json.Valid
			r.i = len(r.b)
			return
		}
		raw, quoted, esc := r.str()
		if esc {
			raw = unescape(quoted)
		}
		b.key = b.key[:plen]
		if plen > 0 {
			b.key = append(b.key, '.')
		}
		b.key = append(b.key, raw...)
		r.ws()
		r.i++ // ':'
		r.ws()
		d.value(level)
		r.ws()
		if r.peek() == ',' {
			r.i++
		}
	}
}

// value reads one field's value, named b.key.
func (d *jsonDecoder) value(level int) {
	r, b := &d.r, d.b
	switch r.peek() {
	case '"':
		raw, quoted, esc := r.str()
		if b.failed() {
			return
		}
		if esc {
			raw = unescape(quoted)
		}
		b.field(b.keyString(), model.Str(b.text(raw)))
	case '{':
		if level < b.opt.ExpandDepth {
			d.object(level + 1)
			return
		}
		d.jsonText()
	case '[':
		d.jsonText()
	case 't':
		r.i += 4
		b.field(b.keyString(), model.Bool(true))
	case 'f':
		r.i += 5
		b.field(b.keyString(), model.Bool(false))
	case 'n':
		r.i += 4 // null: no field
	default:
		tok := r.scalar()
		if b.failed() {
			return
		}
		v, ok := jsonNumber(tok)
		if !ok {
			b.fail(MsgMalformed, "number "+string(tok)+" is out of range")
			return
		}
		b.field(b.keyString(), v)
	}
}

// jsonText keeps the array or object at r.i as its compact JSON text.
func (d *jsonDecoder) jsonText() {
	r, b := &d.r, d.b
	start := r.i
	r.skip()
	if b.failed() {
		return
	}
	b.buf = compactJSON(b.buf[:0], r.b[start:r.i])
	b.field(b.keyString(), model.Str(b.text(b.buf)))
}

// compactJSON appends valid JSON src without insignificant whitespace.
func compactJSON(dst, src []byte) []byte {
	inStr := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inStr {
			dst = append(dst, c)
			switch c {
			case '\\':
				if i+1 < len(src) {
					i++
					dst = append(dst, src[i])
				}
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		dst = append(dst, c)
	}
	return dst
}

// jsonNumber types a JSON number as Honeycomb does: an integer literal that
// fits in 64 bits is an integer, any other number a float. A number beyond
// float64's range is not accepted.
func jsonNumber(tok []byte) (model.Value, bool) {
	isInt := true
	for _, c := range tok {
		if c == '.' || c == 'e' || c == 'E' {
			isInt = false
			break
		}
	}
	if isInt {
		if n, ok := parseInt(tok); ok {
			return model.Int(n), true
		}
	}
	f, err := strconv.ParseFloat(bytesString(tok), 64)
	if err != nil || math.IsInf(f, 0) {
		return model.Value{}, false
	}
	return model.Float(f), true
}

// parseInt parses a decimal integer literal; false when it does not fit
// in an int64.
func parseInt(tok []byte) (int64, bool) {
	neg := len(tok) > 0 && tok[0] == '-'
	digits := tok
	if neg {
		digits = tok[1:]
	}
	if len(digits) == 0 {
		return 0, false
	}
	if len(digits) <= 18 {
		var n int64
		for _, c := range digits {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return n, true
	}
	n, err := strconv.ParseInt(bytesString(tok), 10, 64)
	return n, err == nil
}

// bytesString views b as a string for a parse call that does not keep it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// jsonEvent reads a /1/events body: one object of fields.
func (b *builder) jsonEvent(body []byte) *Error {
	if !json.Valid(body) {
		return badRequest(MsgMalformed, "the body is not valid JSON")
	}
	d := jsonDecoder{r: jsonReader{b: body}, b: b}
	d.r.ws()
	if d.r.peek() != '{' {
		return badRequest(MsgMalformed, "an event is a JSON object of fields")
	}
	b.begin()
	d.object(0)
	return nil
}

// jsonBatch reads a /1/batch body: an array of {data, time, samplerate}.
func (b *builder) jsonBatch(body []byte) (Batch, error) {
	if !json.Valid(body) {
		return Batch{}, badRequest(MsgMalformed, "the body is not valid JSON")
	}
	d := jsonDecoder{r: jsonReader{b: body}, b: b}
	r := &d.r
	r.ws()
	if r.peek() != '[' {
		return Batch{}, badRequest(MsgMalformed, "a batch is a JSON array of events")
	}
	r.i++
	out := b.presize(len(body))
	for {
		r.ws()
		if c := r.peek(); c == ']' || c == 0 {
			break
		}
		if len(out.Status) == b.opt.MaxEvents {
			return Batch{}, tooManyEvents(b.opt.MaxEvents)
		}
		start := r.i
		b.begin()
		t, rate := b.opt.Now, int64(1)
		if r.peek() == '{' {
			d.envelope(&t, &rate)
		} else {
			r.skip()
			b.fail(MsgMalformed, "an event is a JSON object with a data object")
		}
		if size := r.i - start; size > b.opt.MaxEventBytes {
			b.arena = b.arena[:b.start]
			b.err = Status{Code: 400, Error: MsgTooLarge, Detail: "event of " + strconv.Itoa(size) + " bytes, the limit is " + strconv.Itoa(b.opt.MaxEventBytes)}
		}
		out.add(b.finish(t, rate))
		r.ws()
		if r.peek() == ',' {
			r.i++
		}
	}
	return out, nil
}

func (out *Batch) add(ev model.Event, st Status) {
	if st.Code == 202 {
		out.Events = append(out.Events, ev)
	}
	out.Status = append(out.Status, st)
}

// envelope reads one batch element: data, time and samplerate (other keys
// are ignored).
func (d *jsonDecoder) envelope(t *time.Time, rate *int64) {
	r, b := &d.r, d.b
	r.i++ // '{'
	for {
		r.ws()
		if c := r.peek(); c == '}' || c == 0 {
			r.i++
			return
		}
		if r.peek() != '"' { // cannot happen after json.Valid
			r.i = len(r.b)
			return
		}
		raw, quoted, esc := r.str()
		if esc {
			raw = unescape(quoted)
		}
		r.ws()
		r.i++ // ':'
		r.ws()
		c := r.peek()
		switch string(raw) {
		case "data":
			switch c {
			case '{':
				b.key = b.key[:0]
				d.object(0)
			case 'n':
				r.skip()
			default:
				r.skip()
				b.fail(MsgMalformed, "data is not an object")
			}
		case "time":
			switch {
			case c == '"':
				s, q, e := r.str()
				if e {
					s = unescape(q)
				}
				*t = parseTimeString(string(s), b.opt.Now)
			case c == '-' || (c >= '0' && c <= '9'):
				v, ok := jsonNumber(r.scalar())
				switch {
				case !ok:
				case v.Kind == model.KindInt:
					*t = epochTime(v.Int, b.opt.Now)
				default:
					*t = floatTime(v.Flt, b.opt.Now)
				}
			case c == 'n':
				r.skip()
			default:
				r.skip()
				b.fail(MsgMalformed, "time is not a string or a number")
			}
		case "samplerate":
			switch {
			case c == '-' || (c >= '0' && c <= '9'):
				v, ok := jsonNumber(r.scalar())
				switch {
				case !ok:
					b.fail(MsgMalformed, "samplerate is out of range")
				case v.Kind == model.KindInt:
					*rate = clampRate(v.Int)
				default:
					*rate = floatRate(v.Flt)
				}
			case c == 'n':
				r.skip()
			default:
				r.skip()
				b.fail(MsgMalformed, "samplerate is not a number")
			}
		default:
			r.skip()
		}
		r.ws()
		if r.peek() == ',' {
			r.i++
		}
	}
}
