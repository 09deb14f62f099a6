package xrayfilter

import "strings"

// Keyword is a built-in field of the language.
type Keyword uint8

// Keywords.
const (
	KwInvalid Keyword = iota
	// Boolean.
	KwOK
	KwError
	KwFault
	KwThrottle
	KwPartial
	KwInferred
	KwRoot
	KwFirst
	KwLast
	KwRemote
	// Numeric.
	KwResponseTime
	KwDuration
	KwHTTPStatus
	KwIndex
	KwCoverage
	// String.
	KwHTTPURL
	KwHTTPMethod
	KwHTTPUserAgent
	KwHTTPClientIP
	KwUser
	KwAvailabilityZone
	KwInstanceID
	KwResourceARN
	KwName
	KwType
	KwMessage
	kwCount
)

type kwType uint8

const (
	typeBool kwType = iota + 1
	typeNum
	typeStr
)

// Where a keyword may appear.
type scope uint16

const (
	scTrace       scope = 1 << iota // top level
	scService                       // service(...) { … }
	scEdge                          // edge(...) { … }
	scRCService                     // rootcause.fault|error.service { … }
	scRCServiceRT                   // rootcause.responsetime.service { … }
	scRCEntity                      // rootcause.fault|error.entity { … }
	scRCEntityRT                    // rootcause.responsetime.entity { … }
	scRCException                   // rootcause.fault|error.exception { … }

	scSeg   = scTrace | scService | scEdge
	scRCSvc = scRCService | scRCServiceRT
	scRCEnt = scRCEntity | scRCEntityRT
)

// scopeNames describe scopes for error messages; a combined entry is used
// when all of its bits are present.
var scopeNames = []struct {
	s    scope
	name string
}{
	{scTrace, "at the top level"},
	{scService, "inside service(...) braces"},
	{scEdge, "inside edge(...) braces"},
	{scRCSvc, "inside rootcause.*.service braces"},
	{scRCService, "inside rootcause.fault.service or rootcause.error.service braces"},
	{scRCServiceRT, "inside rootcause.responsetime.service braces"},
	{scRCEnt, "inside rootcause.*.entity braces"},
	{scRCEntity, "inside rootcause.fault.entity or rootcause.error.entity braces"},
	{scRCEntityRT, "inside rootcause.responsetime.entity braces"},
	{scRCException, "inside rootcause.fault.exception or rootcause.error.exception braces"},
}

func (s scope) describe() string {
	var parts []string
	for _, n := range scopeNames {
		if s&n.s == n.s {
			parts = append(parts, n.name)
			s &^= n.s
		}
	}
	switch len(parts) {
	case 0:
		return "nowhere"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

type kwInfo struct {
	name  string
	typ   kwType
	where scope
}

var keywords = [kwCount]kwInfo{
	KwOK:               {"ok", typeBool, scSeg},
	KwError:            {"error", typeBool, scSeg},
	KwFault:            {"fault", typeBool, scSeg},
	KwThrottle:         {"throttle", typeBool, scSeg},
	KwPartial:          {"partial", typeBool, scTrace | scService},
	KwInferred:         {"inferred", typeBool, scTrace | scService | scRCSvc},
	KwRoot:             {"root", typeBool, scService},
	KwFirst:            {"first", typeBool, scRCSvc | scRCEnt},
	KwLast:             {"last", typeBool, scRCSvc | scRCEnt},
	KwRemote:           {"remote", typeBool, scRCEnt},
	KwResponseTime:     {"responsetime", typeNum, scSeg},
	KwDuration:         {"duration", typeNum, scSeg},
	KwHTTPStatus:       {"http.status", typeNum, scSeg},
	KwIndex:            {"index", typeNum, scRCSvc | scRCEnt},
	KwCoverage:         {"coverage", typeNum, scRCEntityRT},
	KwHTTPURL:          {"http.url", typeStr, scSeg},
	KwHTTPMethod:       {"http.method", typeStr, scSeg},
	KwHTTPUserAgent:    {"http.useragent", typeStr, scSeg},
	KwHTTPClientIP:     {"http.clientip", typeStr, scSeg},
	KwUser:             {"user", typeStr, scTrace | scService},
	KwAvailabilityZone: {"availabilityzone", typeStr, scTrace | scService},
	KwInstanceID:       {"instance.id", typeStr, scTrace | scService},
	KwResourceARN:      {"resource.arn", typeStr, scTrace | scService},
	KwName:             {"name", typeStr, scService | scRCSvc | scRCEnt | scRCException},
	KwType:             {"type", typeStr, scService | scRCSvc},
	KwMessage:          {"message", typeStr, scRCException},
}

var keywordByName = func() map[string]Keyword {
	m := make(map[string]Keyword, kwCount)
	for k := KwOK; k < kwCount; k++ {
		m[keywords[k].name] = k
	}
	return m
}()

// String returns the keyword's canonical (lower-case) spelling.
func (k Keyword) String() string {
	if k > KwInvalid && k < kwCount {
		return keywords[k].name
	}
	return "?"
}

// lookupKeyword finds a keyword case-insensitively.
func lookupKeyword(s string) Keyword {
	return keywordByName[strings.ToLower(s)]
}

// suggest returns the known word nearest to s when it is a likely typo.
func suggest(s string) string {
	s = strings.ToLower(s)
	best, bestD := "", 3
	try := func(w string) {
		if d := editDistance(s, w); d < bestD {
			best, bestD = w, d
		}
	}
	for k := KwOK; k < kwCount; k++ {
		try(keywords[k].name)
	}
	for _, w := range []string{"service", "edge", "group.name", "group.arn", "rootcause.json",
		"rootcause.fault.service", "rootcause.fault.entity", "rootcause.fault.exception",
		"rootcause.error.service", "rootcause.error.entity", "rootcause.error.exception",
		"rootcause.responsetime.service", "rootcause.responsetime.entity"} {
		try(w)
	}
	if len(s) < 3 || bestD >= len(s)/2+1 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
