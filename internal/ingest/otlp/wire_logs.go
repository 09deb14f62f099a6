package otlp

import (
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// The logs half of the wire decoder (wire.go): ExportLogsServiceRequest
// read into the generated types with chunked slabs and strings cut from
// one copy of the body, meaning exactly what proto.Unmarshal would produce
// (FuzzDecodeLogsProtobuf checks that), strings not checked for UTF-8.

type logsSlabs struct {
	resourceLogs slab[logspb.ResourceLogs]
	scopeLogs    slab[logspb.ScopeLogs]
	records      slab[logspb.LogRecord]

	rlStack []*logspb.ResourceLogs
	slStack []*logspb.ScopeLogs
	lrStack []*logspb.LogRecord

	rlPtrs ptrSlab[logspb.ResourceLogs]
	slPtrs ptrSlab[logspb.ScopeLogs]
	lrPtrs ptrSlab[logspb.LogRecord]
}

// decodeLogsRequest reads a binary ExportLogsServiceRequest within ri's
// memory bounds, as decodeProtobufRequest does. The result's bytes fields
// alias body; its strings do not.
func decodeLogsRequest(body []byte, ri RequestInfo) (*collogspb.ExportLogsServiceRequest, int64, error) {
	d := &wireDecoder{}
	if err := d.init(body, ri); err != nil {
		return nil, d.reserved, err
	}
	var l logsSlabs
	req := &collogspb.ExportLogsServiceRequest{}
	it := fields{b: body}
	for it.next() {
		if it.f.num == 1 && it.f.typ == protowire.BytesType {
			rl := l.resourceLogs.next(&d.used)
			if err := d.resourceLogsMsg(&l, &it.f, rl); err != nil {
				return nil, d.reserved, err
			}
			l.rlStack = append(l.rlStack, rl)
		}
	}
	if it.err != nil {
		return nil, d.reserved, it.err
	}
	req.ResourceLogs = finish(req.ResourceLogs, &l.rlStack, 0, &l.rlPtrs, &d.used)
	return req, d.reserved, d.mem()
}

func (d *wireDecoder) resourceLogsMsg(l *logsSlabs, f *field, rl *logspb.ResourceLogs) error {
	it := d.fieldsOf(f)
	start := len(l.slStack)
	for it.next() {
		if it.f.typ != protowire.BytesType {
			continue
		}
		switch it.f.num {
		case 1:
			if rl.Resource == nil {
				rl.Resource = d.resources.next(&d.used)
			}
			if err := d.resourceMsg(&it.f, rl.Resource); err != nil {
				return err
			}
		case 2:
			sl := l.scopeLogs.next(&d.used)
			if err := d.scopeLogsMsg(l, &it.f, sl); err != nil {
				return err
			}
			l.slStack = append(l.slStack, sl)
		case 3:
			rl.SchemaUrl = d.string(&it.f)
		}
	}
	rl.ScopeLogs = finish(rl.ScopeLogs, &l.slStack, start, &l.slPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) scopeLogsMsg(l *logsSlabs, f *field, sl *logspb.ScopeLogs) error {
	it := d.fieldsOf(f)
	start := len(l.lrStack)
	for it.next() {
		if it.f.typ != protowire.BytesType {
			continue
		}
		switch it.f.num {
		case 1:
			if sl.Scope == nil {
				sl.Scope = d.scopes.next(&d.used)
			}
			if err := d.scopeMsg(&it.f, sl.Scope); err != nil {
				return err
			}
		case 2:
			lr := l.records.next(&d.used)
			if err := d.logRecordMsg(&it.f, lr); err != nil {
				return err
			}
			l.lrStack = append(l.lrStack, lr)
		case 3:
			sl.SchemaUrl = d.string(&it.f)
		}
	}
	sl.LogRecords = finish(sl.LogRecords, &l.lrStack, start, &l.lrPtrs, &d.used)
	return it.err
}

func (d *wireDecoder) logRecordMsg(f *field, lr *logspb.LogRecord) error {
	if err := d.mem(); err != nil {
		return err
	}
	it := d.fieldsOf(f)
	kvStart := len(d.kvStack)
	for it.next() {
		switch it.f.typ {
		case protowire.BytesType:
			switch it.f.num {
			case 3:
				lr.SeverityText = d.string(&it.f)
			case 5:
				if lr.Body == nil {
					lr.Body = d.anys.next(&d.used)
				}
				if err := d.anyValueMsg(&it.f, lr.Body); err != nil {
					return err
				}
			case 6:
				if err := d.pushKeyValue(&it.f); err != nil {
					return err
				}
			case 9:
				lr.TraceId = d.bytes(&it.f)
			case 10:
				lr.SpanId = d.bytes(&it.f)
			case 12:
				lr.EventName = d.string(&it.f)
			}
		case protowire.VarintType:
			switch it.f.num {
			case 2:
				lr.SeverityNumber = logspb.SeverityNumber(int32(it.f.u))
			case 7:
				lr.DroppedAttributesCount = uint32(it.f.u)
			}
		case protowire.Fixed64Type:
			switch it.f.num {
			case 1:
				lr.TimeUnixNano = it.f.u
			case 11:
				lr.ObservedTimeUnixNano = it.f.u
			}
		case protowire.Fixed32Type:
			if it.f.num == 8 {
				lr.Flags = uint32(it.f.u)
			}
		}
	}
	lr.Attributes = finish(lr.Attributes, &d.kvStack, kvStart, &d.kvPtrs, &d.used)
	return it.err
}
