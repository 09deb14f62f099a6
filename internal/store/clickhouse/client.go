package clickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// ErrUnavailable means the ClickHouse server could not be reached or
// answered that it cannot take the request now (too many parts, a
// timeout): retryable, nothing of the call was stored. Ingest answers it
// with 503.
// It is store.ErrUnavailable, so that the API layers answer it with 503.
var ErrUnavailable = store.ErrUnavailable

// Error is an exception ClickHouse answered (its code and text).
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("clickhouse: code %d: %s", e.Code, e.Message) }

// ClickHouse error codes the store tells apart.
const (
	codeTimeoutExceeded     = 159
	codeMemoryLimitExceeded = 241
	codeNotEnoughSpace      = 243
	codeTooManyParts        = 252
	codeTooManySimultaneous = 202
	codeCannotWriteToFile   = 75 // CANNOT_WRITE_TO_FILE_DESCRIPTOR, a full disk among others
	// A Distributed table's query or INSERT could not reach a shard.
	codeAllConnectionTriesFailed = 279
	codeNetworkError             = 210
	codeSocketTimeout            = 209
	codeBadArguments             = 36 // e.g. REMOVE TTL of a table without one
)

// Is maps ClickHouse's codes to the store's errors.
func (e *Error) Is(target error) bool {
	switch target {
	case store.ErrNoSpace:
		return e.Code == codeNotEnoughSpace || (e.Code == codeCannotWriteToFile && strings.Contains(e.Message, "No space left"))
	case store.ErrQueryTooLarge:
		return e.Code == codeMemoryLimitExceeded
	case ErrUnavailable:
		return e.Code == codeTooManyParts || e.Code == codeTimeoutExceeded || e.Code == codeTooManySimultaneous ||
			e.Code == codeAllConnectionTriesFailed || e.Code == codeNetworkError || e.Code == codeSocketTimeout
	}
	return false
}

var exceptionRE = regexp.MustCompile(`^Code: (\d+)[.,] (?:e\.displayText\(\) = )?(?:DB::Exception: )?`)

// parseException turns ClickHouse's exception text ("Code: 62, e.displayText()
// = DB::Exception: Syntax error … (version …)" on 18.16, "Code: 62.
// DB::Exception: …" since) into an *Error; text that is not one is kept
// whole with code 0.
func parseException(body []byte) *Error {
	s := strings.TrimSpace(string(body))
	m := exceptionRE.FindStringSubmatch(s)
	if m == nil {
		return &Error{Message: s}
	}
	code, _ := strconv.Atoi(m[1])
	msg := s[len(m[0]):]
	msg = strings.TrimSuffix(msg, ", e.what() = DB::Exception")
	return &Error{Code: code, Message: msg}
}

// client talks to one ClickHouse server over its HTTP interface.
type client struct {
	base     *url.URL
	database string
	http     *http.Client
	settings url.Values // sent with every request
	// maxAnswer bounds an answer read whole (rows, table); past it the
	// query fails with store.ErrQueryTooLarge. 0: 64 MiB.
	maxAnswer int64
	// cluster, when set, names the cluster whose Distributed tables the
	// queries read: a shard that cannot be reached is a *shardError.
	cluster string
}

func newClient(rawURL, database string) (*client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("clickhouse url: not a URL") // the text may hold a password
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("clickhouse url %s: scheme must be http or https", u.Redacted())
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     2 * time.Second, // below the server's keep_alive_timeout (3 s)
	}
	return &client{base: u, database: database, http: &http.Client{Transport: tr}, settings: url.Values{}}, nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

// request builds a POST to the server: query in the URL when body carries
// data, else in the body.
func (c *client) request(ctx context.Context, query string, data io.Reader, extra url.Values) (*http.Response, error) {
	u := *c.base
	params := u.Query()
	for k, v := range c.settings {
		params[k] = v
	}
	for k, v := range extra {
		params[k] = v
	}
	if c.database != "" {
		params.Set("database", c.database)
	}
	var body io.Reader = strings.NewReader(query)
	if data != nil {
		params.Set("query", query)
		body = data
	}
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, err
	}
	if u.User != nil {
		// ClickHouse takes credentials as headers as well as basic auth.
		req.Header.Set("X-ClickHouse-User", u.User.Username())
		if p, ok := u.User.Password(); ok {
			req.Header.Set("X-ClickHouse-Key", p)
		}
		req.URL.User = nil
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		e := parseException(msg)
		if e.Code == 0 && e.Message == "" {
			e.Message = resp.Status
		}
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, e)
		}
		if c.cluster != "" {
			return nil, asShardError(c.cluster, e)
		}
		return nil, e
	}
	return resp, nil
}

// transportError wraps an error of the HTTP round trip: the context's own
// error as it is, anything else (refused, reset, unreachable, timed out)
// as ErrUnavailable.
func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	var ne net.Error
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// exec runs a statement and discards its answer.
func (c *client) exec(ctx context.Context, query string, args ...any) error {
	q, err := bind(query, args)
	if err != nil {
		return err
	}
	resp, err := c.request(ctx, q, nil, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return transportError(ctx, err)
	}
	return nil
}

// insert sends data (in format, e.g. RowBinary) to table's columns. It
// returns once ClickHouse acknowledged the INSERT.
func (c *client) insert(ctx context.Context, table, columns, format string, data []byte) error {
	q := "INSERT INTO " + table
	if columns != "" {
		q += " (" + columns + ")"
	}
	q += " FORMAT " + format
	resp, err := c.request(ctx, q, bytes.NewReader(data), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return transportError(ctx, err)
	}
	return nil
}

// stream runs a query and returns its answer's body; the caller closes it.
func (c *client) stream(ctx context.Context, query string, args ...any) (io.ReadCloser, error) {
	q, err := bind(query, args)
	if err != nil {
		return nil, err
	}
	resp, err := c.request(ctx, q, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// rows runs a query and returns its rows decoded from
// TabSeparatedWithNamesAndTypes: int64, uint64 (above MaxInt64 only),
// float64, string or nil (NULL).
func (c *client) rows(ctx context.Context, query string, args ...any) ([][]any, error) {
	_, _, rows, err := c.table(ctx, query, args...)
	return rows, err
}

// table is rows with the answer's column names and types.
func (c *client) table(ctx context.Context, query string, args ...any) (names, types []string, rows [][]any, err error) {
	body, err := c.stream(ctx, query+" FORMAT TabSeparatedWithNamesAndTypes", args...)
	if err != nil {
		return nil, nil, nil, err
	}
	defer body.Close()
	limit := c.maxAnswer
	if limit <= 0 {
		limit = 64 << 20
	}
	raw, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, nil, nil, transportError(ctx, err)
	}
	if int64(len(raw)) > limit {
		return nil, nil, nil, fmt.Errorf("%w: its answer is larger than %d bytes (MaxResultBytes)", store.ErrQueryTooLarge, limit)
	}
	return parseTSV(raw)
}

// parseTSV decodes TabSeparatedWithNamesAndTypes.
func parseTSV(raw []byte) (names, types []string, rows [][]any, err error) {
	lines := bytes.Split(raw, []byte{'\n'})
	if len(lines) < 2 {
		if e := parseException(raw); e.Code != 0 {
			return nil, nil, nil, e
		}
		return nil, nil, nil, fmt.Errorf("clickhouse: short answer %q", raw)
	}
	names = strings.Split(string(lines[0]), "\t")
	for i, n := range names {
		names[i] = unescapeTSV([]byte(n))
	}
	types = strings.Split(string(lines[1]), "\t")
	if len(types) != len(names) {
		return nil, nil, nil, fmt.Errorf("clickhouse: %d column names, %d types", len(names), len(types))
	}
	var out [][]any
	for _, ln := range lines[2:] {
		if len(ln) == 0 {
			continue
		}
		fields := bytes.Split(ln, []byte{'\t'})
		if len(fields) != len(types) {
			// An exception written after a partial answer.
			if e := parseException(bytes.Join(lines[2:], []byte{'\n'})); e.Code != 0 {
				return nil, nil, nil, e
			}
			return nil, nil, nil, fmt.Errorf("clickhouse: row of %d fields for %d columns", len(fields), len(types))
		}
		row := make([]any, len(types))
		for i, f := range fields {
			v, err := tsvValue(types[i], f)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("clickhouse: column %d (%s): %w", i, types[i], err)
			}
			row[i] = v
		}
		out = append(out, row)
	}
	return names, types, out, nil
}

func tsvValue(typ string, f []byte) (any, error) {
	if strings.HasPrefix(typ, "Nullable(") && strings.HasSuffix(typ, ")") {
		if string(f) == `\N` {
			return nil, nil
		}
		typ = typ[len("Nullable(") : len(typ)-1]
	}
	if typ == "Nothing" {
		return nil, nil
	}
	switch {
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(string(f), 10, 64)
	case strings.HasPrefix(typ, "UInt"):
		u, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return nil, err
		}
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case strings.HasPrefix(typ, "Float"):
		switch string(f) {
		case "nan", "-nan":
			return math.NaN(), nil
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(string(f), 64)
	}
	return unescapeTSV(f), nil
}

// unescapeTSV undoes TabSeparated's escaping of a string.
func unescapeTSV(f []byte) string {
	if bytes.IndexByte(f, '\\') < 0 {
		return string(f)
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '\\' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'a':
			b.WriteByte('\a')
		case 'v':
			b.WriteByte('\v')
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// bind replaces each ? placeholder of query (outside quoted strings and
// identifiers) by the literal of the next argument, and the words TRUE and
// FALSE by 1 and 0 (18.16 has no boolean literals). ClickHouse 18.16 has
// no query parameters, so values travel as escaped literals; identifiers
// never come from user text.
func bind(query string, args []any) (string, error) {
	var b strings.Builder
	b.Grow(len(query) + 16*len(args))
	n := 0
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'' || ch == '`' || ch == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == '\\' {
					j += 2
					continue
				}
				if query[j] == ch {
					if j+1 < len(query) && query[j+1] == ch {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(query) {
				return "", fmt.Errorf("clickhouse: unterminated quote in %q", query)
			}
			b.WriteString(query[i : j+1])
			i = j
		case ch == '?':
			if n >= len(args) {
				return "", fmt.Errorf("clickhouse: %d placeholders, %d arguments", n+1, len(args))
			}
			if err := appendLiteral(&b, args[n]); err != nil {
				return "", err
			}
			n++
		case isWordByte(ch) && (i == 0 || !isWordByte(query[i-1])):
			j := i
			for j < len(query) && isWordByte(query[j]) {
				j++
			}
			w := query[i:j]
			switch {
			case strings.EqualFold(w, "TRUE"):
				b.WriteString("1")
			case strings.EqualFold(w, "FALSE"):
				b.WriteString("0")
			default:
				b.WriteString(w)
			}
			i = j - 1
		default:
			b.WriteByte(ch)
		}
	}
	if n != len(args) {
		return "", fmt.Errorf("clickhouse: %d placeholders, %d arguments", n, len(args))
	}
	return b.String(), nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// appendLiteral writes v as a ClickHouse literal.
func appendLiteral(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case string:
		quoteString(b, x)
	case []byte:
		quoteString(b, string(x))
	case bool:
		if x {
			b.WriteString("1")
		} else {
			b.WriteString("0")
		}
	// Integers are typed: a bare 1 would be a UInt8, which reads back
	// as a boolean (see Aggregate).
	case int:
		typed(b, "toInt64(", strconv.FormatInt(int64(x), 10))
	case int32:
		typed(b, "toInt64(", strconv.FormatInt(int64(x), 10))
	case int64:
		typed(b, "toInt64(", strconv.FormatInt(x, 10))
	case uint8:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint32:
		typed(b, "toUInt64(", strconv.FormatUint(uint64(x), 10))
	case uint64:
		typed(b, "toUInt64(", strconv.FormatUint(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("nan")
		case math.IsInf(x, 1):
			b.WriteString("inf")
		case math.IsInf(x, -1):
			b.WriteString("-inf")
		default:
			// The exact bits: 18.16 cannot parse subnormal literals
			// (5e-324 is a syntax error) and its decimal parsing is not
			// always correctly rounded; a bare 200 would be a UInt8.
			var le [8]byte
			binary.LittleEndian.PutUint64(le[:], math.Float64bits(x))
			typed(b, "reinterpretAsFloat64(unhex('", hex.EncodeToString(le[:])+"')")
		}
	default:
		return fmt.Errorf("clickhouse: no literal for %T", v)
	}
	return nil
}

func typed(b *strings.Builder, fn, lit string) {
	b.WriteString(fn)
	b.WriteString(lit)
	b.WriteByte(')')
}

// quoteString writes s as a single-quoted string literal: backslash and
// quote escaped, bytes as they are (ClickHouse strings are bytes).
func quoteString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}
