package chtest

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

var front *Chdb

func TestMain(m *testing.M) {
	code := m.Run()
	if front != nil {
		front.Stop()
		_ = os.RemoveAll(front.Dir)
	}
	os.Exit(code)
}

// chdb starts the test binary's one libchdb session.
func chdb(t *testing.T) *Chdb {
	t.Helper()
	if front == nil {
		dir, err := os.MkdirTemp("", "chtest-chdb-")
		if err != nil {
			t.Fatal(err)
		}
		front, err = StartChdb(dir)
		if err != nil {
			t.Fatalf("StartChdb: %v", err)
		}
	}
	return front
}

// post sends query (in the body, or with data in the URL) and returns the
// status, the exception code header and the body.
func post(t *testing.T, c *Chdb, params url.Values, query string, data string) (int, string, string) {
	t.Helper()
	body := query
	if data != "" {
		params.Set("query", query)
		body = data
	}
	resp, err := http.Post(c.URL+"/?"+params.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("X-ClickHouse-Exception-Code"), string(b)
}

func TestChdbHTTP(t *testing.T) {
	c := chdb(t)
	if c.Version < 26_000_000 {
		t.Errorf("Version = %d, want 26.x or later", c.Version)
	}
	if _, err := StartChdb(t.TempDir()); err == nil {
		t.Error("a second StartChdb in the process succeeded")
	}
	resp, err := http.Get(c.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "Ok.\n" {
		t.Errorf("/ping = %q", b)
	}

	steps := []struct {
		name       string
		params     url.Values
		query      string
		data       string
		wantStatus int
		wantCode   string
		wantBody   string // prefix
	}{
		{"select", url.Values{}, "SELECT 1 AS x FORMAT TabSeparatedWithNamesAndTypes", "", 200, "", "x\nUInt8\n1\n"},
		{"default format", url.Values{}, "SELECT 'a\tb'", "", 200, "", "a\\tb\n"},
		{"create database", url.Values{}, "CREATE DATABASE d1", "", 200, "", ""},
		{"create table", url.Values{"database": {"d1"}}, "CREATE TABLE t (a UInt32, b String) ENGINE = MergeTree ORDER BY a", "", 200, "", ""},
		// RowBinary: 1, "hi" (with a NUL byte), 2, "".
		{"insert RowBinary", url.Values{"database": {"d1"}}, "INSERT INTO t (a, b) FORMAT RowBinary", "\x01\x00\x00\x00\x03h\x00i\x02\x00\x00\x00\x00", 200, "", ""},
		{"insert Values", url.Values{"database": {"d1"}}, "INSERT INTO t VALUES", "(3, 'x')", 200, "", ""},
		{"read", url.Values{"database": {"d1"}}, "SELECT a, b FROM t ORDER BY a FORMAT TabSeparated", "", 200, "", "1\th\\0i\n2\t\n3\tx\n"},
		{"no database", url.Values{}, "SELECT count() FROM t", "", 500, "60", "Code: 60. DB::Exception: "},
		{"unknown database", url.Values{"database": {"nope"}}, "SELECT 1", "", 500, "81", "Code: 81. DB::Exception: "},
		{"syntax error", url.Values{}, "SELEKT 1", "", 500, "62", "Code: 62. DB::Exception: "},
		{"setting for one request", url.Values{"max_threads": {"3"}}, "SELECT getSetting('max_threads')", "", 200, "", "3\n"},
		{"setting reset after it", url.Values{}, "SELECT getSetting('max_threads')", "", 200, "", "1\n"},
		{"unknown setting", url.Values{"no_such_setting": {"1"}}, "SELECT 1", "", 500, "115", "Code: 115. DB::Exception: "},
		{"bad insert data", url.Values{"database": {"d1"}}, "INSERT INTO t FORMAT RowBinary", "\x01", 500, "", "Code: "},
		{"drop", url.Values{}, "DROP DATABASE d1", "", 200, "", ""},
	}
	for _, s := range steps {
		status, code, body := post(t, c, s.params, s.query, s.data)
		if status != s.wantStatus || (s.wantCode != "" && code != s.wantCode) || !strings.HasPrefix(body, s.wantBody) || (s.wantBody == "" && status == 200 && body != "") {
			t.Errorf("%s: %d, code %q, %q; want %d, code %q, %q", s.name, status, code, body, s.wantStatus, s.wantCode, s.wantBody)
		}
		if status != 200 && code == "" {
			t.Errorf("%s: an exception without X-ClickHouse-Exception-Code", s.name)
		}
	}
	// The INSERT bodies' files are gone.
	left, err := os.ReadDir(c.Dir + "/infile")
	if err != nil || len(left) != 0 {
		t.Errorf("infile directory: %v, %d files left", err, len(left))
	}
}

func TestInsertFormat(t *testing.T) {
	for _, c := range []struct {
		q    string
		want int
	}{
		{"INSERT INTO t (a, b) FORMAT RowBinary", 21},
		{"insert into t format TSV", 14},
		{"INSERT INTO t VALUES", -1},
		{"SELECT 1 FORMAT RowBinary", -1},
		{"INSERT INTO t SELECT 'FORMAT' FORMAT Native", 30},
	} {
		if got := insertFormat(c.q); got != c.want {
			t.Errorf("insertFormat(%q) = %d, want %d", c.q, got, c.want)
		}
	}
}

func FuzzInsertFormat(f *testing.F) {
	f.Add("INSERT INTO t (a, b) FORMAT RowBinary")
	f.Add("SELECT 1")
	f.Fuzz(func(t *testing.T, q string) {
		i := insertFormat(q)
		if i < 0 {
			return
		}
		if !strings.EqualFold(q[i:i+6], "FORMAT") || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "INSERT") {
			t.Fatalf("insertFormat(%q) = %d", q, i)
		}
	})
}
