package queryclient_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/queryclient"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

const cliKey = "cli-test-key-0123456789"

// startAPI serves the query API over a DuckDB store holding known spans
// written an hour ago, one per second.
func startAPI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "db.duckdb"), Threads: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	reg, err := auth.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Bootstrap(cliKey); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Minute)
	var evs []model.Event
	for i := 0; i < 20; i++ {
		name := "GET /home"
		if i%4 == 0 {
			name = "POST /login"
		}
		e := model.Event{Dataset: "backend-flask", ServiceName: "backend-flask", Time: base.Add(time.Duration(i) * 20 * time.Second),
			Name: name, DurationMs: float64(10 + i*10), SampleRate: 1, Source: model.SourceOTLP,
			Attrs: []model.Attr{{Key: "http.status_code", Value: model.Int(int64(200 + 300*(i%5/4)))}}}
		e.TraceID[15], e.SpanID[7] = byte(i+1), byte(i+1)
		evs = append(evs, e)
	}
	// Three spans sent to X-Ray's doors, in a dataset only X-Ray's part has.
	var xr []model.Event
	for i := 0; i < 3; i++ {
		e := model.Event{Dataset: "xray-only", ServiceName: "xray-only", Time: base.Add(time.Duration(i) * time.Second),
			Name: "GET /", DurationMs: 5, SampleRate: 1, Source: model.SourceOTLP}
		e.TraceID[14], e.SpanID[6] = byte(i+1), byte(i+1)
		xr = append(xr, e)
	}
	if err := st.Write(ctx, []store.Batch{{Env: "test", Events: evs}, {Env: store.DoorEnv("test", model.DoorXRay), Events: xr}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := apiquery.Register(mux, apiquery.Deps{Auth: reg, Store: st, State: state.NewMemory()}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRunCLI(t *testing.T) {
	url := startAPI(t)
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"table", []string{"-d", "backend-flask", "COUNT, P99(duration_ms), AVG(duration_ms) GROUP BY name ORDER BY COUNT DESC LAST 2h"}, "table.txt"},
		{"filter", []string{"COUNT WHERE http.status_code >= 500 GROUP BY name LAST 2h"}, "filter.txt"},
		{"flags after the query", []string{"COUNT WHERE http.status_code >= 500", "GROUP BY name LAST 2h", "-d", "backend-flask"}, "filter.txt"},
		{"heatmap by name", []string{"HEATMAP(duration_ms) GROUP BY name LAST 2h"}, "heatmap_rows.txt"},
		{"empty", []string{"COUNT WHERE name = nothing LAST 2h"}, "empty.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--endpoint", url, "--key", cliKey}, tc.args...)
			if err := queryclient.RunCLI(context.Background(), args, &out, &errOut); err != nil {
				t.Fatalf("RunCLI: %v\n%s", err, errOut.String())
			}
			checkGolden(t, tc.golden, out.Bytes())
		})
	}
	t.Run("time heatmap", func(t *testing.T) {
		var out bytes.Buffer
		args := []string{"--endpoint", url, "--key", cliKey, "HEATMAP(duration_ms) LAST 2h EVERY 1m"}
		if err := queryclient.RunCLI(context.Background(), args, &out, &out); err != nil {
			t.Fatal(err)
		}
		// The time axis depends on the clock: check the shape only.
		s := out.String()
		t.Log("\n" + s)
		if !strings.Contains(s, "HEATMAP(duration_ms)") || !strings.Contains(s, "└") || !strings.ContainsAny(s, "░▒▓█") {
			t.Fatalf("no heatmap drawn:\n%s", s)
		}
	})
	t.Run("X-Ray's door", func(t *testing.T) {
		var out bytes.Buffer
		args := []string{"--endpoint", url, "--key", cliKey, "--json", "--door", "xray", "-d", "xray-only", "COUNT LAST 2h"}
		if err := queryclient.RunCLI(context.Background(), args, &out, &out); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.Contains(s, `"COUNT": 3`) || !strings.Contains(s, `"doors": [`) {
			t.Fatalf("json output over X-Ray's door:\n%s", s)
		}
	})
	t.Run("json", func(t *testing.T) {
		var out bytes.Buffer
		args := []string{"--endpoint", url, "--key", cliKey, "--json", "COUNT LAST 2h"}
		if err := queryclient.RunCLI(context.Background(), args, &out, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"COUNT": 20`) {
			t.Fatalf("json output:\n%s", out.String())
		}
	})
}

func TestRunCLIErrors(t *testing.T) {
	url := startAPI(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no query", []string{"--key", "k"}, nil, "no query given"},
		{"syntax", []string{"--key", "k", "COUNT WHERE a ~ 1"}, nil, "at column 15: unexpected character '~'\n  COUNT WHERE a ~ 1\n                ^"},
		{"invalid", []string{"--key", "k", "COUNT LIMIT 5000"}, nil, "limit: must be between 1 and 1000"},
		{"no key", []string{"--endpoint", url, "COUNT"}, map[string]string{"HONEYCOMB_API_KEY": "", "TRACECOMB_KEY": ""}, "no API key"},
		{"wrong key", []string{"--endpoint", url, "--key", "nope", "COUNT"}, nil, "unknown API key"},
		{"door", []string{"--key", "k", "--door", "zipkin", "COUNT"}, nil, "--door must be honeycomb or xray"},
		{"X-Ray's dataset by Honeycomb's door", []string{"--endpoint", url, "--key", cliKey, "-d", "xray-only", "COUNT"}, nil, "Dataset not found (HTTP 404)"},
		{"key from env", []string{"--endpoint", url, "-d", "missing", "COUNT"}, map[string]string{"HONEYCOMB_API_KEY": "", "TRACECOMB_KEY": cliKey}, "Dataset not found (HTTP 404)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := queryclient.RunCLI(context.Background(), tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}
