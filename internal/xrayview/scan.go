package xrayview

import "errors"

// A tiny scanner over the members of one JSON object. It finds where a
// member's value starts and ends, so that a document's members are read
// without decoding what nobody reads, and a (sub)segment's "subsegments"
// array can be cut out of its document byte for byte, leaving everything
// else as the sender wrote it. Readers run it on text that json.Valid has
// accepted (stored documents were, when they came in), but it never panics
// on anything else.

var errScan = errors.New("malformed JSON")

// member is one "key": value pair of an object, as byte offsets into the
// document: key is the raw text between the quotes (escapes not decoded);
// [start, end) spans the key's opening quote to the value's last byte.
type member struct {
	key        []byte
	start, end int
	valStart   int
}

// objectMembers calls fn for every member of the object that starts at
// doc[i] (after optional white space), in order. It returns the offset just
// after the closing brace.
func objectMembers(doc []byte, i int, fn func(m member)) (int, error) {
	i = skipSpace(doc, i)
	if i >= len(doc) || doc[i] != '{' {
		return 0, errScan
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return 0, errScan
		}
		start := i
		kEnd, err := skipString(doc, i)
		if err != nil {
			return 0, err
		}
		key := doc[start+1 : kEnd-1]
		i = skipSpace(doc, kEnd)
		if i >= len(doc) || doc[i] != ':' {
			return 0, errScan
		}
		i = skipSpace(doc, i+1)
		vStart := i
		vEnd, err := skipValue(doc, i)
		if err != nil {
			return 0, err
		}
		fn(member{key: key, start: start, end: vEnd, valStart: vStart})
		i = skipSpace(doc, vEnd)
		if i >= len(doc) {
			return 0, errScan
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errScan
		}
	}
}

// arrayElements calls fn with the [start, end) offsets of every element of
// the array that starts at doc[i].
func arrayElements(doc []byte, i int, fn func(start, end int)) error {
	i = skipSpace(doc, i)
	if i >= len(doc) || doc[i] != '[' {
		return errScan
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		return nil
	}
	for {
		end, err := skipValue(doc, i)
		if err != nil {
			return err
		}
		fn(i, end)
		i = skipSpace(doc, end)
		if i >= len(doc) {
			return errScan
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case ']':
			return nil
		default:
			return errScan
		}
	}
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the offset after the string starting at doc[i] == '"'.
func skipString(doc []byte, i int) (int, error) {
	for i++; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errScan
}

// skipValue returns the offset after the JSON value starting at doc[i].
func skipValue(doc []byte, i int) (int, error) {
	if i >= len(doc) {
		return 0, errScan
	}
	switch c := doc[i]; c {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		// Skip to the matching bracket, stepping over strings.
		open, closing := c, byte('}')
		if c == '[' {
			closing = ']'
		}
		n := 0
		for ; i < len(doc); i++ {
			switch doc[i] {
			case '"':
				end, err := skipString(doc, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				if doc[i] == open {
					n++
				}
			case '}', ']':
				if doc[i] == closing {
					n--
					if n == 0 {
						return i + 1, nil
					}
				}
			}
		}
		return 0, errScan
	default:
		// number, true, false, null
		j := i
		for j < len(doc) {
			switch doc[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return 0, errScan
				}
				return j, nil
			}
			j++
		}
		if j == i {
			return 0, errScan
		}
		return j, nil
	}
}
