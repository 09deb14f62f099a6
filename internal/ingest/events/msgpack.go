package events

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/tracecomb/tracecomb/internal/model"
)

// The msgpack decoders read with github.com/vmihailenco/msgpack/v5's
// Decoder over the body in memory (a bytes.Reader, which the Decoder reads
// without buffering, so the read position is exact). Strings are sliced
// from the body rather than copied twice; nested values are stepped over
// without recursion, so no input can exhaust the stack. A stream that
// breaks (truncated, a bad code) is a malformed request; a well-formed
// event of the wrong shape is that event's 400.

// maxNesting bounds how deep a nested value may be to be kept as JSON
// text; deeper ones make their event malformed.
const maxNesting = 100

var errTruncated = errors.New("msgpack: a length runs past the end of the body")

type mpDecoder struct {
	b     *builder
	body  []byte
	rd    *bytes.Reader
	d     *msgpack.Decoder
	stack []int
}

func newMP(b *builder, body []byte) *mpDecoder {
	rd := bytes.NewReader(body)
	return &mpDecoder{b: b, body: body, rd: rd, d: msgpack.NewDecoder(rd)}
}

func (m *mpDecoder) pos() int { return len(m.body) - m.rd.Len() }

func isMap(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}

func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

func isStr(c byte) bool { return msgpcode.IsString(c) || msgpcode.IsBin(c) }

func isInt(c byte) bool {
	return msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Int64)
}

// bytes reads a str or bin value as a slice of the body.
func (m *mpDecoder) bytes() ([]byte, error) {
	n, err := m.d.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, nil
	}
	p := m.pos()
	if n > len(m.body)-p {
		return nil, errTruncated
	}
	if _, err := m.rd.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, err
	}
	return m.body[p : p+n], nil
}

// skip steps over one value of any depth without recursion, returning how
// deep it nests.
func (m *mpDecoder) skip() (int, error) {
	m.stack = m.stack[:0]
	remaining, deepest := 1, 0
	for {
		for remaining == 0 {
			if len(m.stack) == 0 {
				return deepest, nil
			}
			remaining = m.stack[len(m.stack)-1]
			m.stack = m.stack[:len(m.stack)-1]
		}
		remaining--
		c, err := m.d.PeekCode()
		if err != nil {
			return 0, err
		}
		n := -1
		switch {
		case isMap(c):
			n, err = m.d.DecodeMapLen()
			n *= 2
		case isArray(c):
			n, err = m.d.DecodeArrayLen()
		default:
			err = m.d.Skip()
		}
		if err != nil {
			return 0, err
		}
		if n >= 0 {
			if n > m.rd.Len() { // every element takes at least a byte
				return 0, errTruncated
			}
			m.stack = append(m.stack, remaining)
			remaining = n
			deepest = max(deepest, len(m.stack))
		}
	}
}

// integer reads an integer of any msgpack width; a uint64 past int64 is a
// float.
func (m *mpDecoder) integer(c byte) (model.Value, error) {
	if c == msgpcode.Uint64 {
		u, err := m.d.DecodeUint64()
		if u > math.MaxInt64 {
			return model.Float(float64(u)), err
		}
		return model.Int(int64(u)), err
	}
	n, err := m.d.DecodeInt64()
	return model.Int(n), err
}

// float reads a float32 or float64; a float32 keeps its shortest decimal
// form (0.1, not 0.10000000149011612), as it reads in JSON.
func (m *mpDecoder) float(c byte) (float64, error) {
	if c == msgpcode.Float {
		f, err := m.d.DecodeFloat32()
		if err != nil {
			return 0, err
		}
		g, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
		return g, nil
	}
	return m.d.DecodeFloat64()
}

// object reads the map at the read position as fields named under the key
// being built, expanding nested maps while level is below the dataset's
// expand_json_depth. A key that is not a string makes the event malformed.
func (m *mpDecoder) object(level int) error {
	b := m.b
	n, err := m.d.DecodeMapLen()
	if err != nil {
		return err
	}
	if 2*n > m.rd.Len() {
		return errTruncated
	}
	plen := len(b.key)
	defer func() { b.key = b.key[:plen] }()
	for range n {
		c, err := m.d.PeekCode()
		if err != nil {
			return err
		}
		if !isStr(c) {
			b.fail(MsgMalformed, "a field name is not a string")
			for range 2 {
				if _, err := m.skip(); err != nil {
					return err
				}
			}
			continue
		}
		key, err := m.bytes()
		if err != nil {
			return err
		}
		b.key = b.key[:plen]
		if plen > 0 {
			b.key = append(b.key, '.')
		}
		b.key = append(b.key, key...)
		if err := m.value(level); err != nil {
			return err
		}
	}
	return nil
}

// value reads one field's value, named b.key.
func (m *mpDecoder) value(level int) error {
	b := m.b
	c, err := m.d.PeekCode()
	if err != nil {
		return err
	}
	var v model.Value
	switch {
	case c == msgpcode.Nil:
		return m.d.Skip() // null: no field
	case c == msgpcode.True || c == msgpcode.False:
		x, err := m.d.DecodeBool()
		if err != nil {
			return err
		}
		v = model.Bool(x)
	case isInt(c):
		if v, err = m.integer(c); err != nil {
			return err
		}
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := m.float(c)
		if err != nil {
			return err
		}
		v = model.Float(f)
	case isStr(c):
		s, err := m.bytes()
		if err != nil {
			return err
		}
		if b.failed() {
			return nil
		}
		v = model.Str(b.text(s))
	case isMap(c) && level < b.opt.ExpandDepth:
		return m.object(level + 1)
	case msgpcode.IsExt(c):
		t, ok, err := m.extTime(c)
		if err != nil {
			return err
		}
		if !ok {
			b.fail(MsgMalformed, "an extension type that is not a timestamp")
			return nil
		}
		v = model.Str(b.str(t.UTC().AppendFormat(b.buf[:0], time.RFC3339Nano)))
	case isMap(c) || isArray(c):
		start := m.pos()
		depth, err := m.skip()
		if err != nil {
			return err
		}
		if b.failed() {
			return nil
		}
		raw := m.body[start:m.pos()]
		if depth > maxNesting {
			b.fail(MsgMalformed, "a value nested more than "+strconv.Itoa(maxNesting)+" deep")
			return nil
		}
		sub := newMP(b, raw)
		b.buf, err = sub.appendJSON(b.buf[:0])
		if err != nil {
			b.fail(MsgMalformed, err.Error())
			return nil
		}
		v = model.Str(b.text(b.buf))
	default:
		return errors.New("msgpack: invalid code " + strconv.Itoa(int(c)))
	}
	b.field(b.keyString(), v)
	return nil
}

// extTime reads the extension value at the read position (code c): a
// timestamp (msgpack's type -1, or 13 as some Node encoders write it) comes
// back with ok; any other type is stepped over.
func (m *mpDecoder) extTime(c byte) (t time.Time, ok bool, err error) {
	head := 1 // the type byte's offset from the code
	switch c {
	case msgpcode.Ext8:
		head = 2
	case msgpcode.Ext16:
		head = 3
	case msgpcode.Ext32:
		head = 5
	}
	if p := m.pos() + head; p < len(m.body) {
		if typ := int8(m.body[p]); typ == -1 || typ == 13 {
			start := m.pos()
			if t, err = m.d.DecodeTime(); err == nil {
				return t, true, nil
			}
			// A timestamp of a length the library does not read: step over
			// it from where it began.
			if _, err := m.rd.Seek(int64(start), io.SeekStart); err != nil {
				return t, false, err
			}
		}
	}
	_, err = m.skip()
	return time.Time{}, false, err
}

// appendJSON appends the value at the read position as JSON text. Its
// nesting was bounded by the caller.
func (m *mpDecoder) appendJSON(dst []byte) ([]byte, error) {
	c, err := m.d.PeekCode()
	if err != nil {
		return dst, err
	}
	switch {
	case c == msgpcode.Nil:
		return append(dst, "null"...), m.d.Skip()
	case c == msgpcode.True || c == msgpcode.False:
		x, err := m.d.DecodeBool()
		return strconv.AppendBool(dst, x), err
	case isInt(c):
		v, err := m.integer(c)
		if v.Kind == model.KindFloat {
			return appendJSONFloat(dst, v.Flt), err
		}
		return strconv.AppendInt(dst, v.Int, 10), err
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := m.float(c)
		return appendJSONFloat(dst, f), err
	case isStr(c):
		s, err := m.bytes()
		return appendJSONString(dst, s), err
	case msgpcode.IsExt(c):
		t, ok, err := m.extTime(c)
		if err != nil {
			return dst, err
		}
		if !ok {
			return dst, errors.New("an extension type that is not a timestamp")
		}
		return appendJSONString(dst, t.UTC().AppendFormat(nil, time.RFC3339Nano)), nil
	case isArray(c):
		n, err := m.d.DecodeArrayLen()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i := range n {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = m.appendJSON(dst); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case isMap(c):
		n, err := m.d.DecodeMapLen()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '{')
		for i := range n {
			if i > 0 {
				dst = append(dst, ',')
			}
			kc, err := m.d.PeekCode()
			if err != nil {
				return dst, err
			}
			switch {
			case isStr(kc):
				k, err := m.bytes()
				if err != nil {
					return dst, err
				}
				dst = appendJSONString(dst, k)
			case isInt(kc):
				k, err := m.integer(kc)
				if err != nil {
					return dst, err
				}
				dst = appendJSONString(dst, []byte(k.String()))
			default:
				return dst, errors.New("a map key that is not a string or an integer")
			}
			dst = append(dst, ':')
			if dst, err = m.appendJSON(dst); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, errors.New("msgpack: invalid code " + strconv.Itoa(int(c)))
}

func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// msgpackEvent reads a /1/events body in msgpack: one map of fields.
func (b *builder) msgpackEvent(body []byte) *Error {
	m := newMP(b, body)
	c, err := m.d.PeekCode()
	if err != nil || !isMap(c) {
		return badRequest(MsgMalformed, "an event is a msgpack map of fields")
	}
	b.begin()
	if err := m.object(0); err != nil {
		return badRequest(MsgMalformed, err.Error())
	}
	if m.rd.Len() != 0 {
		return badRequest(MsgMalformed, "bytes after the event")
	}
	return nil
}

// msgpackBatch reads a /1/batch body in msgpack: an array of maps with
// data, time (a timestamp extension, a string or a number) and samplerate.
func (b *builder) msgpackBatch(body []byte) (Batch, error) {
	m := newMP(b, body)
	c, err := m.d.PeekCode()
	if err != nil || !isArray(c) {
		return Batch{}, badRequest(MsgMalformed, "a batch is a msgpack array of events")
	}
	n, err := m.d.DecodeArrayLen()
	if err != nil {
		return Batch{}, badRequest(MsgMalformed, err.Error())
	}
	if n > m.rd.Len() {
		return Batch{}, badRequest(MsgMalformed, errTruncated.Error())
	}
	if n > b.opt.MaxEvents {
		return Batch{}, tooManyEvents(b.opt.MaxEvents)
	}
	out := b.presize(len(body))
	for range n {
		start := m.pos()
		b.begin()
		t, rate := b.opt.Now, int64(1)
		c, err := m.d.PeekCode()
		if err != nil {
			return Batch{}, badRequest(MsgMalformed, err.Error())
		}
		if isMap(c) {
			err = m.envelope(&t, &rate)
		} else {
			_, err = m.skip()
			b.fail(MsgMalformed, "an event is a map with a data map")
		}
		if err != nil {
			return Batch{}, badRequest(MsgMalformed, err.Error())
		}
		if size := m.pos() - start; size > b.opt.MaxEventBytes {
			b.arena = b.arena[:b.start]
			b.err = Status{Code: 400, Error: MsgTooLarge, Detail: "event of " + strconv.Itoa(size) + " bytes, the limit is " + strconv.Itoa(b.opt.MaxEventBytes)}
		}
		out.add(b.finish(t, rate))
	}
	if m.rd.Len() != 0 {
		return Batch{}, badRequest(MsgMalformed, "bytes after the batch")
	}
	return out, nil
}

// envelope reads one batch element; keys other than data, time and
// samplerate are ignored.
func (m *mpDecoder) envelope(t *time.Time, rate *int64) error {
	b := m.b
	n, err := m.d.DecodeMapLen()
	if err != nil {
		return err
	}
	if 2*n > m.rd.Len() {
		return errTruncated
	}
	for range n {
		c, err := m.d.PeekCode()
		if err != nil {
			return err
		}
		if !isStr(c) {
			b.fail(MsgMalformed, "a key of the event is not a string")
			for range 2 {
				if _, err := m.skip(); err != nil {
					return err
				}
			}
			continue
		}
		key, err := m.bytes()
		if err != nil {
			return err
		}
		if c, err = m.d.PeekCode(); err != nil {
			return err
		}
		switch string(key) {
		case "data":
			switch {
			case isMap(c):
				b.key = b.key[:0]
				err = m.object(0)
			case c == msgpcode.Nil:
				err = m.d.Skip()
			default:
				_, err = m.skip()
				b.fail(MsgMalformed, "data is not a map")
			}
		case "time":
			err = m.envTime(c, t)
		case "samplerate":
			switch {
			case c == msgpcode.Nil:
				err = m.d.Skip()
			case isInt(c):
				var v model.Value
				v, err = m.integer(c)
				if v.Kind == model.KindFloat {
					*rate = floatRate(v.Flt)
				} else {
					*rate = clampRate(v.Int)
				}
			case c == msgpcode.Float || c == msgpcode.Double:
				var f float64
				f, err = m.float(c)
				*rate = floatRate(f)
			default:
				_, err = m.skip()
				b.fail(MsgMalformed, "samplerate is not a number")
			}
		default:
			_, err = m.skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// envTime reads an event's time: a timestamp extension, a string or a
// number.
func (m *mpDecoder) envTime(c byte, t *time.Time) error {
	now := m.b.opt.Now
	switch {
	case c == msgpcode.Nil:
		return m.d.Skip()
	case msgpcode.IsExt(c):
		tm, ok, err := m.extTime(c)
		if err != nil {
			return err
		}
		if !ok {
			m.b.fail(MsgMalformed, "time is an extension type that is not a timestamp")
			return nil
		}
		*t = checkTime(tm, now)
	case isStr(c):
		s, err := m.bytes()
		if err != nil {
			return err
		}
		*t = parseTimeString(string(s), now)
	case isInt(c):
		v, err := m.integer(c)
		if err != nil {
			return err
		}
		if v.Kind == model.KindFloat {
			*t = now
		} else {
			*t = epochTime(v.Int, now)
		}
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := m.float(c)
		if err != nil {
			return err
		}
		*t = floatTime(f, now)
	default:
		if _, err := m.skip(); err != nil {
			return err
		}
		m.b.fail(MsgMalformed, "time is not a timestamp, a string or a number")
	}
	return nil
}
