package xrayfilter

import "github.com/tracecomb/tracecomb/internal/xrayview"

// SegmentsFromDocument decodes one X-Ray segment (or independent
// subsegment) document into the segments filters see: the document itself
// followed by its embedded subsegments, depth first, each pointing to its
// parent. Fields of the wrong type make the document an error; absent fields
// stay zero, and an id that is not 16 hex digits is left zero. It is
// xrayview.SegmentsFromDocument, which reads documents as the X-Ray decoder
// does.
func SegmentsFromDocument(doc []byte) ([]Segment, error) {
	return xrayview.SegmentsFromDocument(doc)
}
