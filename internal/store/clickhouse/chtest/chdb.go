package chtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ChdbVersion is the libchdb that scripts/chdb.sh installs (the npm
// package @chdb/lib-linux-x64-gnu of that version, ClickHouse 26.7.2).
const ChdbVersion = "26.7.3-stable.1"

// ChdbLibPath is where libchdb.so is looked for: CHDB_LIB_PATH, else the
// cache directory scripts/chdb.sh installs into.
func ChdbLibPath() string {
	if p := os.Getenv("CHDB_LIB_PATH"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "tracecomb", "chdb-"+ChdbVersion, "node_modules", "@chdb", "lib-linux-x64-gnu", "libchdb.so")
}

// The C API of libchdb (chdb.h), bound at run time with purego: nothing
// is loaded until StartChdb, so packages importing chtest run without
// the library.
type chdbConn struct{ handle unsafe.Pointer } // chdb_connection
type chdbResult struct{ _ unsafe.Pointer }    // chdb_result, opaque

var lib struct {
	once    sync.Once
	err     error
	connect func(argc int32, argv **byte) *chdbConn
	close   func(conn *chdbConn)
	query   func(conn unsafe.Pointer, query, format string) *chdbResult
	buffer  func(r *chdbResult) *byte
	length  func(r *chdbResult) uintptr
	errText func(r *chdbResult) string
	destroy func(r *chdbResult)
}

func loadChdb() error {
	lib.once.Do(func() {
		path := ChdbLibPath()
		if _, err := os.Stat(path); err != nil {
			lib.err = fmt.Errorf("libchdb not found at %s (CHDB_LIB_PATH): run scripts/chdb.sh, which installs it and prints its path (scripts/test.sh does)", path)
			return
		}
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			lib.err = fmt.Errorf("load %s: %w (scripts/chdb.sh installs libchdb)", path, err)
			return
		}
		purego.RegisterLibFunc(&lib.connect, h, "chdb_connect")
		purego.RegisterLibFunc(&lib.close, h, "chdb_close_conn")
		purego.RegisterLibFunc(&lib.query, h, "chdb_query")
		purego.RegisterLibFunc(&lib.buffer, h, "chdb_result_buffer")
		purego.RegisterLibFunc(&lib.length, h, "chdb_result_length")
		purego.RegisterLibFunc(&lib.errText, h, "chdb_result_error")
		purego.RegisterLibFunc(&lib.destroy, h, "chdb_destroy_query_result")
	})
	return lib.err
}

// chdbOpen is set while a session is open: libchdb allows one per process.
var chdbOpen struct {
	sync.Mutex
	open bool
}

// Chdb is ClickHouse (libchdb, 26.7) running in this process on one
// session, behind an HTTP front on a free loopback port that speaks the
// part of ClickHouse's HTTP interface the store uses. See StartChdb.
type Chdb struct {
	// URL is the HTTP front, http://127.0.0.1:port.
	URL string
	Dir string
	// Version is the engine's VERSION_INTEGER, e.g. 26007002.
	Version int64

	mu     sync.Mutex // one query at a time: a session is not concurrent
	conn   *chdbConn
	infile int // names the temporary files of INSERT bodies; under mu
	srv    *http.Server
	done   chan struct{}
}

// StartChdb opens a libchdb session with its data in dir (created when
// missing) and serves it over HTTP. libchdb holds one session per
// process: a second StartChdb before Stop fails, so a test binary shares
// one (databases of their own per test). A missing library is an error
// naming scripts/chdb.sh.
//
// The HTTP front handles POST (and GET) to / as ClickHouse's HTTP
// interface does for what the store sends: the query in the body, or in
// the query parameter with the body appended (for an INSERT … FORMAT F
// with a body, the body goes to a temporary file read with FROM INFILE,
// since the C API takes the query as a C string); the database parameter
// selects the database (USE, default when absent); default_format is the
// format of an answer whose query names none (TabSeparated without it);
// user and password are ignored (there are no users); param_* (query
// parameters) answers NOT_IMPLEMENTED; every other parameter is a setting
// applied (SET) for that request only and set back to the session's
// default after it. The answer is the query's output in its FORMAT. An
// exception answers HTTP 500 with ClickHouse's text ("Code: N.
// DB::Exception: …") and the X-ClickHouse-Exception-Code header; current
// servers answer some codes with a 4xx status instead, which the store
// does not tell apart. A body over 256 MiB answers 413. /ping answers
// "Ok.". Not carried: sessions, compression, progress headers, an
// exception after part of an answer was sent (the whole answer is
// produced before it is sent), cancelling a running query.
//
// The session starts with mutations_sync = 0, a server's default
// (libchdb's is 1), so mutations run in the background, and max_threads
// = 1 (the tests' clickhouse-server profile has 2; the tests share few
// cores and run small queries).
func StartChdb(dir string) (*Chdb, error) {
	if err := loadChdb(); err != nil {
		return nil, err
	}
	chdbOpen.Lock()
	defer chdbOpen.Unlock()
	if chdbOpen.open {
		return nil, errors.New("chtest: a libchdb session is open already (one per process)")
	}
	if err := os.MkdirAll(filepath.Join(dir, "infile"), 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	args := []string{"clickhouse", "--path=" + abs}
	argv := make([]*byte, len(args))
	keep := make([][]byte, len(args))
	for i, a := range args {
		keep[i] = append([]byte(a), 0)
		argv[i] = &keep[i][0]
	}
	conn := lib.connect(int32(len(argv)), &argv[0])
	runtime.KeepAlive(keep)
	if conn == nil || conn.handle == nil {
		return nil, fmt.Errorf("chtest: libchdb: no session on %s", abs)
	}
	c := &Chdb{Dir: abs, conn: conn, done: make(chan struct{})}
	for _, k := range []string{"mutations_sync", "max_threads"} {
		q := "SET " + k + " = " + sessionSettings[k]
		if _, err := c.run(q, "TabSeparated"); err != nil {
			lib.close(conn)
			return nil, fmt.Errorf("chtest: libchdb: %s: %w", q, err)
		}
	}
	out, err := c.run("SELECT value FROM system.build_options WHERE name = 'VERSION_INTEGER'", "TabSeparated")
	if err != nil {
		lib.close(conn)
		return nil, fmt.Errorf("chtest: libchdb: %w", err)
	}
	c.Version, _ = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lib.close(conn)
		return nil, err
	}
	c.URL = "http://" + l.Addr().String()
	c.srv = &http.Server{Handler: c}
	go func() { _ = c.srv.Serve(l); close(c.done) }()
	chdbOpen.open = true
	return c, nil
}

// Stop closes the HTTP front and the session (its data stays in Dir).
func (c *Chdb) Stop() {
	_ = c.srv.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		lib.close(c.conn)
		c.conn = nil
		chdbOpen.Lock()
		chdbOpen.open = false
		chdbOpen.Unlock()
	}
}

// chdbError is an exception of the engine, its text as ClickHouse
// writes it.
type chdbError struct {
	code int
	text string
}

func (e *chdbError) Error() string { return e.text }

var codeRE = regexp.MustCompile(`^Code: (\d+)\.`)

// run executes one query on the session; the caller holds mu, or is
// StartChdb.
func (c *Chdb) run(query, format string) ([]byte, error) {
	if c.conn == nil {
		return nil, errors.New("chtest: the libchdb session is closed")
	}
	if strings.IndexByte(query, 0) >= 0 {
		// The C API takes a NUL-terminated string.
		return nil, &chdbError{code: 62, text: "Code: 62. DB::Exception: chtest: the query holds a NUL byte, which libchdb's C API cannot take. (SYNTAX_ERROR)"}
	}
	r := lib.query(c.conn.handle, query, format)
	if r == nil {
		return nil, nil
	}
	defer lib.destroy(r)
	if msg := lib.errText(r); msg != "" {
		e := &chdbError{text: msg}
		if m := codeRE.FindStringSubmatch(msg); m != nil {
			e.code, _ = strconv.Atoi(m[1])
		}
		return nil, e
	}
	n := int(lib.length(r))
	if n == 0 {
		return nil, nil
	}
	p := lib.buffer(r)
	if p == nil {
		return nil, nil
	}
	return append([]byte(nil), unsafe.Slice(p, n)...), nil
}

// maxBody bounds a request's body, which is held whole (an INSERT's rows
// go to a file).
const maxBody = 256 << 20

// ServeHTTP answers a request as ClickHouse's HTTP interface does (see
// StartChdb).
func (c *Chdb) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ping" {
		_, _ = io.WriteString(w, "Ok.\n")
		return
	}
	if r.URL.Path != "/" {
		http.Error(w, "There is no handle "+r.URL.Path, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	params := r.URL.Query()
	query := params.Get("query")
	var data []byte
	switch {
	case query == "":
		query = string(body)
	case len(body) > 0:
		if insertFormat(query) >= 0 {
			data = body
		} else {
			query += "\n" + string(body)
		}
	}
	if strings.TrimSpace(query) == "" {
		writeException(w, &chdbError{code: 62, text: "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)"})
		return
	}
	var settings []string
	for k := range params {
		switch {
		case k == "query" || k == "database" || k == "default_format" || k == "user" || k == "password":
		case strings.HasPrefix(k, "param_"):
			writeException(w, &chdbError{code: 48, text: "Code: 48. DB::Exception: chtest: query parameters are not supported. (NOT_IMPLEMENTED)"})
			return
		default:
			if !isIdent(k) {
				writeException(w, &chdbError{code: 115, text: fmt.Sprintf("Code: 115. DB::Exception: Unknown setting '%s'. (UNKNOWN_SETTING)", k)})
				return
			}
			settings = append(settings, k)
		}
	}
	format := params.Get("default_format")
	if format == "" {
		format = "TabSeparated"
	}
	out, err := c.serve(query, data, params.Get("database"), settings, params, format)
	if err != nil {
		writeException(w, err)
		return
	}
	_, _ = w.Write(out)
}

// serve runs one request's query on the session: USE, the settings, the
// query (its INSERT body through a file), the settings reset.
func (c *Chdb) serve(query string, data []byte, database string, settings []string, params map[string][]string, format string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if database == "" {
		database = "default"
	}
	if _, err := c.run("USE "+quoteIdent(database), "TabSeparated"); err != nil {
		return nil, err
	}
	for i, k := range settings {
		if _, err := c.run("SET "+k+" = "+quoteString(params[k][0]), "TabSeparated"); err != nil {
			c.resetSettings(settings[:i])
			return nil, err
		}
	}
	defer c.resetSettings(settings)
	if data != nil {
		c.infile++
		path := filepath.Join(c.Dir, "infile", strconv.Itoa(c.infile)+".bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
		defer os.Remove(path)
		i := insertFormat(query)
		query = query[:i] + " FROM INFILE " + quoteString(path) + " " + query[i:]
	}
	return c.run(query, format)
}

// sessionSettings are the session's own defaults (see StartChdb).
var sessionSettings = map[string]string{"mutations_sync": "0", "max_threads": "1"}

// resetSettings sets a request's settings back to the session's defaults.
func (c *Chdb) resetSettings(settings []string) {
	for _, k := range settings {
		v, ok := sessionSettings[k]
		if !ok {
			v = "DEFAULT"
		}
		_, _ = c.run("SET "+k+" = "+v, "TabSeparated")
	}
}

var insertRE = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s.*\s(FORMAT\s+[A-Za-z0-9_]+\s*;?\s*)$`)

// insertFormat returns where the FORMAT clause of an INSERT … FORMAT F
// statement starts, or -1 when query is not one.
func insertFormat(query string) int {
	m := insertRE.FindStringSubmatchIndex(query)
	if m == nil {
		return -1
	}
	return m[2]
}

func writeException(w http.ResponseWriter, err error) {
	var e *chdbError
	if !errors.As(err, &e) {
		e = &chdbError{code: 1001, text: "Code: 1001. DB::Exception: chtest: " + err.Error() + ". (STD_EXCEPTION)"}
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	if e.code != 0 {
		w.Header().Set("X-ClickHouse-Exception-Code", strconv.Itoa(e.code))
	}
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, strings.TrimRight(e.text, "\n")+"\n")
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
