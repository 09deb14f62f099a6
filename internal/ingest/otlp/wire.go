package otlp

import (
	"errors"
	"math"
	"sync"
	"unsafe"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracecomb/tracecomb/internal/ingest"
)

// The binary protobuf path is the hottest code in tracecomb, so it does not
// use proto.Unmarshal, which allocates every message, oneof wrapper and
// string on its own. wireDecoder reads the protobuf wire format directly
// into the same generated types, taking the structs from chunked slabs,
// and every string as a substring of one copy of the body. DecodeProtobuf,
// which drops the decoded form once it is converted, takes its decoder
// from a pool: the slabs' chunks are zeroed and serve the next request. The result
// means exactly what proto.Unmarshal would produce (FuzzDecodeProtobuf
// checks that), except that strings are not checked for valid UTF-8:
// like the OpenTelemetry Collector, tracecomb keeps such a span rather
// than failing the whole request.

var errRecursion = errors.New("exceeded maximum recursion depth")

type wireDecoder struct {
	body []byte
	str  string // string(body): strings are substrings of it
	// owned: body never changes while the strings live, so str is a view
	// of it rather than a copy (the bytes the copy would take are counted
	// all the same: they are the body's, kept alive by the strings).
	owned bool
	// depth counts nested AnyValues, as proto.Unmarshal does.
	depth int

	// Memory: used counts the bytes the decoder allocated (the string copy
	// of the body, slab chunks, pointer slices). Past limit the request is
	// refused (DecodedTooLargeError); below it, the memory is reserved
	// on res ahead of use, in steps of up to 1 MiB (ErrOverloaded when its
	// budget has no room).
	used, reserved, limit int64
	res                   *ingest.Reservation

	resourceSpans slab[tracepb.ResourceSpans]
	resources     slab[resourcepb.Resource]
	scopeSpans    slab[tracepb.ScopeSpans]
	scopes        slab[commonpb.InstrumentationScope]
	spans         slab[tracepb.Span]
	events        slab[tracepb.Span_Event]
	links         slab[tracepb.Span_Link]
	statuses      slab[tracepb.Status]
	kvs           slab[commonpb.KeyValue]
	anys          slab[commonpb.AnyValue]
	strVals       slab[commonpb.AnyValue_StringValue]
	intVals       slab[commonpb.AnyValue_IntValue]
	dblVals       slab[commonpb.AnyValue_DoubleValue]
	boolVals      slab[commonpb.AnyValue_BoolValue]

	// Stacks that collect a message's repeated children before they are
	// copied into an exactly sized slice.
	rsStack   []*tracepb.ResourceSpans
	ssStack   []*tracepb.ScopeSpans
	spanStack []*tracepb.Span
	evStack   []*tracepb.Span_Event
	linkStack []*tracepb.Span_Link
	kvStack   []*commonpb.KeyValue
	anyStack  []*commonpb.AnyValue

	rsPtrs   ptrSlab[tracepb.ResourceSpans]
	ssPtrs   ptrSlab[tracepb.ScopeSpans]
	spanPtrs ptrSlab[tracepb.Span]
	evPtrs   ptrSlab[tracepb.Span_Event]
	linkPtrs ptrSlab[tracepb.Span_Link]
	kvPtrs   ptrSlab[commonpb.KeyValue]
	anyPtrs  ptrSlab[commonpb.AnyValue]
}

// init starts decoding body within ri's memory bounds, once the string
// copy of the body is admitted. (A method, not a constructor, so that the
// decoder can live on its caller's stack.)
func (d *wireDecoder) init(body []byte, ri RequestInfo) error {
	d.body, d.used, d.limit, d.res = body, int64(len(body)), ri.limit(), ri.Reservation
	if err := d.mem(); err != nil {
		return err
	}
	if d.owned {
		d.str = unsafe.String(unsafe.SliceData(body), len(body))
	} else {
		d.str = string(body)
	}
	return nil
}

// mem checks the bytes allocated so far against the limit and the
// reservation; it is cheap until a new step must be reserved.
func (d *wireDecoder) mem() error {
	if d.used <= d.reserved {
		return nil
	}
	return d.reserveMore()
}

// reserveStep is the most the decoder reserves ahead at a time.
const reserveStep = 1 << 20

func (d *wireDecoder) reserveMore() error {
	if d.used > d.limit {
		return &DecodedTooLargeError{Need: d.used, Limit: d.limit}
	}
	step := max(d.used-d.reserved, min(d.used, reserveStep)) // doubling, then by 1 MiB
	if !d.res.TryGrow(step) {
		return ingest.ErrOverloaded
	}
	d.reserved += step
	return nil
}

// slab hands out pointers to zeroed values allocated in growing chunks,
// adding the bytes of each chunk it takes into use to *used. A pooled
// decoder's slabs keep their chunks for the next request (reset).
type slab[T any] struct {
	buf    []T   // the chunk in use
	chunks [][]T // every chunk; chunks[:cur] are in use
	cur    int
}

func (s *slab[T]) next(used *int64) *T {
	if len(s.buf) == cap(s.buf) {
		s.grow(used)
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

func (s *slab[T]) grow(used *int64) {
	var zero T
	if s.cur < len(s.chunks) {
		s.buf = s.chunks[s.cur][:0]
	} else {
		n := 16
		if len(s.chunks) > 0 {
			n = min(2*cap(s.chunks[len(s.chunks)-1]), 4096)
		}
		s.buf = make([]T, 0, n)
		s.chunks = append(s.chunks, s.buf)
	}
	s.cur++
	*used += int64(cap(s.buf)) * int64(unsafe.Sizeof(zero))
}

// reset zeroes the values handed out, keeping the chunks, and returns the
// bytes the chunks take.
func (s *slab[T]) reset() int64 {
	var zero T
	var n int64
	for i, c := range s.chunks {
		if i < s.cur-1 {
			clear(c[:cap(c)])
		}
		n += int64(cap(c)) * int64(unsafe.Sizeof(zero))
	}
	clear(s.buf)
	s.buf, s.cur = nil, 0
	return n
}

// ptrSlab hands out pointer slices carved from shared chunks; a pooled
// decoder's keep their chunks as slabs do.
type ptrSlab[T any] struct {
	buf    []*T
	chunks [][]*T
	cur    int
}

// take copies src into a slice from the slab with len and cap len(src),
// adding the bytes of a chunk it takes into use to *used.
func (s *ptrSlab[T]) take(src []*T, used *int64) []*T {
	n := len(src)
	if n == 0 {
		return nil
	}
	if len(s.buf)+n > cap(s.buf) {
		c := max(min(max(2*cap(s.buf), 64), 8192), n)
		switch { // a kept chunk of the size a new one would have (the bytes counted stay the same)
		case s.cur < len(s.chunks) && cap(s.chunks[s.cur]) == c:
			s.buf = s.chunks[s.cur][:0]
		case s.cur < len(s.chunks):
			s.buf = make([]*T, 0, c)
			s.chunks[s.cur] = s.buf
		default:
			s.buf = make([]*T, 0, c)
			s.chunks = append(s.chunks, s.buf)
		}
		s.cur++
		*used += int64(cap(s.buf)) * 8
	}
	l := len(s.buf)
	s.buf = append(s.buf, src...)
	return s.buf[l : l+n : l+n]
}

func (s *ptrSlab[T]) reset() int64 {
	var n int64
	for i, c := range s.chunks {
		if i < s.cur-1 {
			clear(c[:cap(c)])
		}
		n += int64(cap(c)) * 8
	}
	clear(s.buf)
	s.buf, s.cur = nil, 0
	return n
}

// finish moves stack[start:] into a slab slice appended to dst and pops it.
func finish[T any](dst []*T, stack *[]*T, start int, s *ptrSlab[T], used *int64) []*T {
	items := (*stack)[start:]
	if len(dst) == 0 {
		dst = s.take(items, used)
	} else {
		dst = append(dst, items...) // a repeated field split by a merge: rare
	}
	clear(items)
	*stack = (*stack)[:start]
	return dst
}

// field is one decoded field of a message.
type field struct {
	num    protowire.Number
	typ    protowire.Type
	u      uint64 // varint, fixed32 or fixed64 value
	val    []byte // bytes value
	valOff int    // offset of val in the body
}

// fields iterates the fields of a message occupying body[off:off+len(b)].
type fields struct {
	b   []byte
	off int
	err error
	f   field
}

func (it *fields) next() bool {
	if len(it.b) == 0 || it.err != nil {
		return false
	}
	num, typ, n := protowire.ConsumeTag(it.b)
	if n < 0 {
		it.err = protowire.ParseError(n)
		return false
	}
	it.skip(n)
	it.f = field{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		it.f.u, n = protowire.ConsumeVarint(it.b)
	case protowire.Fixed64Type:
		it.f.u, n = protowire.ConsumeFixed64(it.b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(it.b)
		it.f.u = uint64(v)
	case protowire.BytesType:
		it.f.val, n = protowire.ConsumeBytes(it.b)
		it.f.valOff = it.off + n - len(it.f.val)
	default:
		n = protowire.ConsumeFieldValue(num, typ, it.b)
	}
	if n < 0 {
		it.err = protowire.ParseError(n)
		return false
	}
	it.skip(n)
	return true
}

func (it *fields) skip(n int) {
	it.b = it.b[n:]
	it.off += n
}

func (d *wireDecoder) fieldsOf(f *field) fields { return fields{b: f.val, off: f.valOff} }

func (d *wireDecoder) string(f *field) string { return d.str[f.valOff : f.valOff+len(f.val)] }

// bytes returns a bytes value; it aliases the body.
func (d *wireDecoder) bytes(f *field) []byte {
	if len(f.val) == 0 {
		return []byte{}
	}
	return f.val[:len(f.val):len(f.val)]
}

// decodeProtobufRequest reads a binary ExportTraceServiceRequest within
// ri's memory bounds (see wireDecoder.used), returning the bytes it
// reserved on ri.Reservation. The result's bytes fields alias body; its
// strings do not.
func decodeProtobufRequest(body []byte, ri RequestInfo) (*coltracepb.ExportTraceServiceRequest, int64, error) {
	return new(wireDecoder).request(body, ri)
}

// decoders keeps trace decoders, with their slabs' chunks, between
// requests whose decoded form is dropped once converted (DecodeProtobuf).
var decoders = sync.Pool{New: func() any { return new(wireDecoder) }}

// maxPooledBytes is the most slab memory a decoder keeps in the pool: one
// that decoded a larger request is dropped.
const maxPooledBytes = 8 << 20

// release gives d back to the pool (reset); nothing it handed out may be
// used after.
func (d *wireDecoder) release() {
	if d.reset() <= maxPooledBytes {
		decoders.Put(d)
	}
}

// reset zeroes every value d handed out, keeping its slabs' chunks for
// the next request, and returns the bytes they take.
func (d *wireDecoder) reset() int64 {
	var n int64
	for _, s := range []interface{ reset() int64 }{
		&d.resourceSpans, &d.resources, &d.scopeSpans, &d.scopes, &d.spans, &d.events, &d.links, &d.statuses,
		&d.kvs, &d.anys, &d.strVals, &d.intVals, &d.dblVals, &d.boolVals,
		&d.rsPtrs, &d.ssPtrs, &d.spanPtrs, &d.evPtrs, &d.linkPtrs, &d.kvPtrs, &d.anyPtrs,
	} {
		n += s.reset()
	}
	// The stacks are empty after a decode but for an error's leftovers.
	clear(d.rsStack[:cap(d.rsStack)])
	clear(d.ssStack[:cap(d.ssStack)])
	clear(d.spanStack[:cap(d.spanStack)])
	clear(d.evStack[:cap(d.evStack)])
	clear(d.linkStack[:cap(d.linkStack)])
	clear(d.kvStack[:cap(d.kvStack)])
	clear(d.anyStack[:cap(d.anyStack)])
	d.rsStack, d.ssStack, d.spanStack, d.evStack = d.rsStack[:0], d.ssStack[:0], d.spanStack[:0], d.evStack[:0]
	d.linkStack, d.kvStack, d.anyStack = d.linkStack[:0], d.kvStack[:0], d.anyStack[:0]
	d.body, d.str, d.owned, d.depth, d.used, d.reserved, d.limit, d.res = nil, "", false, 0, 0, 0, 0, nil
	return n
}

// request decodes body as decodeProtobufRequest does, with d's slabs.
func (d *wireDecoder) request(body []byte, ri RequestInfo) (*coltracepb.ExportTraceServiceRequest, int64, error) {
	if err := d.init(body, ri); err != nil {
		return nil, d.reserved, err
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	it := fields{b: body}
	start := len(d.rsStack)
	for it.next() {
		if it.f.num == 1 && it.f.typ == protowire.BytesType {
			rs := d.resourceSpans.next(&d.used)
			if err := d.resourceSpansMsg(&it.f, rs); err != nil {
				return nil, d.reserved, err
			}
			d.rsStack = append(d.rsStack, rs)
		}
	}
	if it.err != nil {
		return nil, d.reserved, it.err
	}
	req.ResourceSpans = finish(req.ResourceSpans, &d.rsStack, start, &d.rsPtrs, &d.used)
	return req, d.reserved, d.mem()
}

func (d *wireDecoder) resourceSpansMsg(f *field, rs *tracepb.ResourceSpans) error {
	it := d.fieldsOf(f)
	start := len(d.ssStack)
	for it.next() {
		if it.f.typ != protowire.BytesType {
			continue
		}
		switch it.f.num {
		case 1:
			if rs.Resource == nil {
				rs.Resource = d.resources.next(&d.used)
			}
			if err := d.resourceMsg(&it.f, rs.Resource); err != nil {
				return err
			}
		case 2:
			ss := d.scopeSpans.next(&d.used)
			if err := d.scopeSpansMsg(&it.f, ss); err != nil {
				return err
			}
			d.ssStack = append(d.ssStack, ss)
		case 3:
			rs.SchemaUrl = d.string(&it.f)
		}
	}
	rs.ScopeSpans = finish(rs.ScopeSpans, &d.ssStack, start, &d.ssPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) resourceMsg(f *field, r *resourcepb.Resource) error {
	it := d.fieldsOf(f)
	start := len(d.kvStack)
	for it.next() {
		switch {
		case it.f.num == 1 && it.f.typ == protowire.BytesType:
			if err := d.pushKeyValue(&it.f); err != nil {
				return err
			}
		case it.f.num == 2 && it.f.typ == protowire.VarintType:
			r.DroppedAttributesCount = uint32(it.f.u)
		}
	}
	r.Attributes = finish(r.Attributes, &d.kvStack, start, &d.kvPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) scopeSpansMsg(f *field, ss *tracepb.ScopeSpans) error {
	it := d.fieldsOf(f)
	start := len(d.spanStack)
	for it.next() {
		if it.f.typ != protowire.BytesType {
			continue
		}
		switch it.f.num {
		case 1:
			if ss.Scope == nil {
				ss.Scope = d.scopes.next(&d.used)
			}
			if err := d.scopeMsg(&it.f, ss.Scope); err != nil {
				return err
			}
		case 2:
			sp := d.spans.next(&d.used)
			if err := d.spanMsg(&it.f, sp); err != nil {
				return err
			}
			d.spanStack = append(d.spanStack, sp)
		case 3:
			ss.SchemaUrl = d.string(&it.f)
		}
	}
	ss.Spans = finish(ss.Spans, &d.spanStack, start, &d.spanPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) scopeMsg(f *field, s *commonpb.InstrumentationScope) error {
	it := d.fieldsOf(f)
	start := len(d.kvStack)
	for it.next() {
		switch {
		case it.f.num == 1 && it.f.typ == protowire.BytesType:
			s.Name = d.string(&it.f)
		case it.f.num == 2 && it.f.typ == protowire.BytesType:
			s.Version = d.string(&it.f)
		case it.f.num == 3 && it.f.typ == protowire.BytesType:
			if err := d.pushKeyValue(&it.f); err != nil {
				return err
			}
		case it.f.num == 4 && it.f.typ == protowire.VarintType:
			s.DroppedAttributesCount = uint32(it.f.u)
		}
	}
	s.Attributes = finish(s.Attributes, &d.kvStack, start, &d.kvPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) spanMsg(f *field, sp *tracepb.Span) error {
	if err := d.mem(); err != nil {
		return err
	}
	it := d.fieldsOf(f)
	kvStart, evStart, linkStart := len(d.kvStack), len(d.evStack), len(d.linkStack)
	for it.next() {
		switch it.f.typ {
		case protowire.BytesType:
			switch it.f.num {
			case 1:
				sp.TraceId = d.bytes(&it.f)
			case 2:
				sp.SpanId = d.bytes(&it.f)
			case 3:
				sp.TraceState = d.string(&it.f)
			case 4:
				sp.ParentSpanId = d.bytes(&it.f)
			case 5:
				sp.Name = d.string(&it.f)
			case 9:
				if err := d.pushKeyValue(&it.f); err != nil {
					return err
				}
			case 11:
				ev := d.events.next(&d.used)
				if err := d.eventMsg(&it.f, ev); err != nil {
					return err
				}
				d.evStack = append(d.evStack, ev)
			case 13:
				l := d.links.next(&d.used)
				if err := d.linkMsg(&it.f, l); err != nil {
					return err
				}
				d.linkStack = append(d.linkStack, l)
			case 15:
				if sp.Status == nil {
					sp.Status = d.statuses.next(&d.used)
				}
				if err := d.statusMsg(&it.f, sp.Status); err != nil {
					return err
				}
			}
		case protowire.VarintType:
			switch it.f.num {
			case 6:
				sp.Kind = tracepb.Span_SpanKind(int32(it.f.u))
			case 10:
				sp.DroppedAttributesCount = uint32(it.f.u)
			case 12:
				sp.DroppedEventsCount = uint32(it.f.u)
			case 14:
				sp.DroppedLinksCount = uint32(it.f.u)
			}
		case protowire.Fixed64Type:
			switch it.f.num {
			case 7:
				sp.StartTimeUnixNano = it.f.u
			case 8:
				sp.EndTimeUnixNano = it.f.u
			}
		case protowire.Fixed32Type:
			if it.f.num == 16 {
				sp.Flags = uint32(it.f.u)
			}
		}
	}
	sp.Attributes = finish(sp.Attributes, &d.kvStack, kvStart, &d.kvPtrs, &d.used)
	sp.Events = finish(sp.Events, &d.evStack, evStart, &d.evPtrs, &d.used)
	sp.Links = finish(sp.Links, &d.linkStack, linkStart, &d.linkPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) eventMsg(f *field, ev *tracepb.Span_Event) error {
	it := d.fieldsOf(f)
	start := len(d.kvStack)
	for it.next() {
		switch {
		case it.f.num == 1 && it.f.typ == protowire.Fixed64Type:
			ev.TimeUnixNano = it.f.u
		case it.f.num == 2 && it.f.typ == protowire.BytesType:
			ev.Name = d.string(&it.f)
		case it.f.num == 3 && it.f.typ == protowire.BytesType:
			if err := d.pushKeyValue(&it.f); err != nil {
				return err
			}
		case it.f.num == 4 && it.f.typ == protowire.VarintType:
			ev.DroppedAttributesCount = uint32(it.f.u)
		}
	}
	ev.Attributes = finish(ev.Attributes, &d.kvStack, start, &d.kvPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) linkMsg(f *field, l *tracepb.Span_Link) error {
	it := d.fieldsOf(f)
	start := len(d.kvStack)
	for it.next() {
		switch {
		case it.f.num == 1 && it.f.typ == protowire.BytesType:
			l.TraceId = d.bytes(&it.f)
		case it.f.num == 2 && it.f.typ == protowire.BytesType:
			l.SpanId = d.bytes(&it.f)
		case it.f.num == 3 && it.f.typ == protowire.BytesType:
			l.TraceState = d.string(&it.f)
		case it.f.num == 4 && it.f.typ == protowire.BytesType:
			if err := d.pushKeyValue(&it.f); err != nil {
				return err
			}
		case it.f.num == 5 && it.f.typ == protowire.VarintType:
			l.DroppedAttributesCount = uint32(it.f.u)
		case it.f.num == 6 && it.f.typ == protowire.Fixed32Type:
			l.Flags = uint32(it.f.u)
		}
	}
	l.Attributes = finish(l.Attributes, &d.kvStack, start, &d.kvPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) statusMsg(f *field, st *tracepb.Status) error {
	it := d.fieldsOf(f)
	for it.next() {
		switch {
		case it.f.num == 2 && it.f.typ == protowire.BytesType:
			st.Message = d.string(&it.f)
		case it.f.num == 3 && it.f.typ == protowire.VarintType:
			st.Code = tracepb.Status_StatusCode(int32(it.f.u))
		}
	}
	return it.err
}

// pushKeyValue decodes a KeyValue and pushes it on kvStack.
func (d *wireDecoder) pushKeyValue(f *field) error {
	if err := d.mem(); err != nil {
		return err
	}
	kv := d.kvs.next(&d.used)
	it := d.fieldsOf(f)
	for it.next() {
		if it.f.typ != protowire.BytesType {
			continue
		}
		switch it.f.num {
		case 1:
			kv.Key = d.string(&it.f)
		case 2:
			if kv.Value == nil {
				kv.Value = d.anys.next(&d.used)
			}
			if err := d.anyValueMsg(&it.f, kv.Value); err != nil {
				return err
			}
		}
	}
	if it.err != nil {
		return it.err
	}
	d.kvStack = append(d.kvStack, kv)
	return nil
}

func (d *wireDecoder) anyValueMsg(f *field, av *commonpb.AnyValue) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > protowire.DefaultRecursionLimit/2 {
		return errRecursion
	}
	it := d.fieldsOf(f)
	for it.next() {
		switch it.f.typ {
		case protowire.BytesType:
			switch it.f.num {
			case 1:
				v := d.strVals.next(&d.used)
				v.StringValue = d.string(&it.f)
				av.Value = v
			case 5:
				arr, ok := av.Value.(*commonpb.AnyValue_ArrayValue)
				if !ok {
					arr = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}
					d.used += oneofBytes
				}
				if err := d.arrayMsg(&it.f, arr.ArrayValue); err != nil {
					return err
				}
				av.Value = arr
			case 6:
				kvl, ok := av.Value.(*commonpb.AnyValue_KvlistValue)
				if !ok {
					kvl = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}
					d.used += oneofBytes
				}
				if err := d.kvListMsg(&it.f, kvl.KvlistValue); err != nil {
					return err
				}
				av.Value = kvl
			case 7:
				av.Value = &commonpb.AnyValue_BytesValue{BytesValue: d.bytes(&it.f)}
				d.used += oneofBytes
			}
		case protowire.VarintType:
			switch it.f.num {
			case 2:
				v := d.boolVals.next(&d.used)
				v.BoolValue = it.f.u != 0
				av.Value = v
			case 3:
				v := d.intVals.next(&d.used)
				v.IntValue = int64(it.f.u)
				av.Value = v
			}
		case protowire.Fixed64Type:
			if it.f.num == 4 {
				v := d.dblVals.next(&d.used)
				v.DoubleValue = math.Float64frombits(it.f.u)
				av.Value = v
			}
		}
	}
	return it.err
}

// oneofBytes is about what the array, kvlist and bytes AnyValues that are
// allocated one by one take.
const oneofBytes = 64

func (d *wireDecoder) arrayMsg(f *field, arr *commonpb.ArrayValue) error {
	if err := d.mem(); err != nil {
		return err
	}
	it := d.fieldsOf(f)
	start := len(d.anyStack)
	for it.next() {
		if it.f.num == 1 && it.f.typ == protowire.BytesType {
			av := d.anys.next(&d.used)
			if err := d.anyValueMsg(&it.f, av); err != nil {
				return err
			}
			d.anyStack = append(d.anyStack, av)
		}
	}
	arr.Values = finish(arr.Values, &d.anyStack, start, &d.anyPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) kvListMsg(f *field, kvl *commonpb.KeyValueList) error {
	d.depth++
	defer func() { d.depth-- }()
	it := d.fieldsOf(f)
	start := len(d.kvStack)
	for it.next() {
		if it.f.num == 1 && it.f.typ == protowire.BytesType {
			if err := d.pushKeyValue(&it.f); err != nil {
				return err
			}
		}
	}
	kvl.Values = finish(kvl.Values, &d.kvStack, start, &d.kvPtrs, &d.used)
	return it.err
}
