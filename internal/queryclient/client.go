// Package queryclient is the terminal query client, the "tracecomb query"
// command: it parses the terminal query syntax (query.Parse), runs it on a
// running tracecomb through Honeycomb's Query query.Data API and prints the
// result as a table, with small text heatmaps for HEATMAP.
package queryclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracecomb/tracecomb/internal/query"
)

const cliUsage = `usage: tracecomb query [flags] 'QUERY'

Runs a query on a running tracecomb through its Query query.Data API and prints
the result as a table (and a small text heatmap for HEATMAP).

QUERY, e.g.
  COUNT, P99(duration_ms) WHERE http.status_code >= 500 GROUP BY name ORDER BY COUNT DESC LIMIT 10 LAST 1h
  HEATMAP(duration_ms) WHERE service.name = backend-flask LAST 30m EVERY 1m
  COUNT WHERE name starts-with 'GET /api' AND error = true GROUP BY http.route SINCE 2026-01-02T15:00:00Z UNTIL 2026-01-02T16:00:00Z

Clauses: WHERE (AND | OR), GROUP BY, ORDER BY … [ASC|DESC], HAVING, LIMIT, LAST, SINCE … [UNTIL …], EVERY.
Calculations: ` + "COUNT, CONCURRENCY, SUM, AVG, COUNT_DISTINCT, MIN, MAX, P001…P999, HEATMAP, RATE_AVG, RATE_SUM, RATE_MAX" + `
Operators: = != > >= < <= starts-with does-not-start-with ends-with does-not-end-with
           contains does-not-contain exists does-not-exist in not-in

Flags:
`

// RunCLI is the "tracecomb query" command: args are the command's
// arguments (without "query"). It returns an error for bad usage, a bad
// query or a failed request; the caller prints it and exits non-zero.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tracecomb query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "http://localhost:4318", "tracecomb's API address")
	key := fs.String("key", "", "API key (default $HONEYCOMB_API_KEY, else $TRACECOMB_KEY)")
	dataset := fs.String("d", query.AllDatasets, "dataset to query; __all__ is the whole environment")
	fs.StringVar(dataset, "dataset", query.AllDatasets, "same as -d")
	asJSON := fs.Bool("json", false, "print the query result as JSON")
	door := fs.String("door", "honeycomb", "whose data to read: honeycomb (what was sent to Honeycomb's doors) or xray (what was sent to X-Ray's)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, cliUsage)
		fs.PrintDefaults()
	}
	// Flags may come before or after the query words.
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		args = fs.Args()[1:]
	}
	src := strings.TrimSpace(strings.Join(words, " "))
	if src == "" {
		fs.Usage()
		return errors.New("no query given")
	}
	spec, err := query.Parse(src)
	if err != nil {
		return fmt.Errorf("%w\n  %s\n  %s^", err, src, strings.Repeat(" ", caretCol(err)))
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("invalid query: %w", err)
	}
	if *door != "honeycomb" && *door != "xray" {
		return fmt.Errorf("--door must be honeycomb or xray, got %q", *door)
	}
	k := *key
	if k == "" {
		k = os.Getenv("HONEYCOMB_API_KEY")
	}
	if k == "" {
		k = os.Getenv("TRACECOMB_KEY")
	}
	if k == "" {
		return errors.New("no API key: pass --key or set HONEYCOMB_API_KEY or TRACECOMB_KEY")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &client{base: strings.TrimRight(*endpoint, "/"), key: k, http: &http.Client{}}
	raw, res, err := c.run(ctx, *dataset, *door, &spec)
	if err != nil {
		return err
	}
	if *asJSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return PrintResult(stdout, &spec, res)
}

func caretCol(err error) int {
	var se *query.SyntaxError
	if errors.As(err, &se) {
		return se.Col - 1
	}
	return 0
}

type client struct {
	base, key string
	http      *http.Client
}

func (c *client) do(ctx context.Context, method, path string, body any) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-Honeycomb-Team", c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, resp.Header, b, err
}

func apiError(what string, code int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Errorf("%s: %s (HTTP %d)", what, e.Error, code)
	}
	return fmt.Errorf("%s: HTTP %d: %s", what, code, strings.TrimSpace(string(body)))
}

// Result is a query result as the terminal reads it.
type Result struct {
	Complete bool       `json:"complete"`
	Data     query.Data `json:"data"`
}

// run creates the query and a result over door's part, and polls the
// result until done. Over X-Ray's part the query is saved for the whole
// environment (__all__): the dataset may exist only there, and a saved
// query is the environment's.
func (c *client) run(ctx context.Context, dataset, door string, spec *query.Spec) ([]byte, *Result, error) {
	ds := url.PathEscape(dataset)
	saveOn := ds
	result := map[string]any{}
	if door == "xray" {
		saveOn = query.AllDatasets
		result["doors"] = []string{door}
	}
	code, _, body, err := c.do(ctx, "POST", "/1/queries/"+saveOn, spec)
	if err != nil {
		return nil, nil, err
	}
	if code != http.StatusOK {
		return nil, nil, apiError("creating the query", code, body)
	}
	var q struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &q); err != nil || q.ID == "" {
		return nil, nil, fmt.Errorf("creating the query: no id in the answer %q", body)
	}
	result["query_id"] = q.ID
	code, hdr, body, err := c.do(ctx, "POST", "/1/query_results/"+ds, result)
	if err != nil {
		return nil, nil, err
	}
	if code != http.StatusCreated {
		return nil, nil, apiError("running the query", code, body)
	}
	loc := hdr.Get("Location")
	for {
		var res Result
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, nil, fmt.Errorf("reading the result: %w", err)
		}
		if res.Complete {
			return body, &res, nil
		}
		if loc == "" {
			return nil, nil, errors.New("the result is not complete and has no Location to poll")
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for the result: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		code, _, body, err = c.do(ctx, "GET", loc, nil)
		if err != nil {
			return nil, nil, err
		}
		if code != http.StatusOK {
			return nil, nil, apiError("polling the result", code, body)
		}
	}
}

// PrintResult prints a result as an aligned table; HEATMAP columns are
// drawn as text heatmaps below it.
func PrintResult(w io.Writer, spec *query.Spec, res *Result) error {
	calcs := spec.Calculations
	if len(calcs) == 0 {
		calcs = []query.CalcSpec{{Op: "COUNT"}}
	}
	var cols, heat []string
	cols = append(cols, spec.Breakdowns...)
	for _, c := range calcs {
		if c.Op == "HEATMAP" {
			heat = append(heat, c.Label())
		} else {
			cols = append(cols, c.Label())
		}
	}
	if len(res.Data.Results) == 0 {
		_, err := fmt.Fprintln(w, "(no results)")
		return err
	}
	if len(cols) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, r := range res.Data.Results {
			cells := make([]string, len(cols))
			for i, c := range cols {
				cells[i] = formatCell(r.Data[c])
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, h := range heat {
		fmt.Fprintf(w, "\n%s\n", h)
		if len(spec.Breakdowns) == 0 && len(res.Data.Series) > 1 {
			drawTimeHeatmap(w, h, res.Data.Series)
			continue
		}
		for _, r := range res.Data.Results {
			var label []string
			for _, b := range spec.Breakdowns {
				label = append(label, formatCell(r.Data[b]))
			}
			drawHistogram(w, strings.Join(label, " "), r.Data[h])
		}
	}
	return nil
}

func formatCell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return formatNum(x)
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func formatNum(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	if math.Abs(x) >= 100 {
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

type bucketJSON struct {
	Lower, Upper, Count float64
}

func heatBuckets(v any) []bucketJSON {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	list, _ := m["buckets"].([]any)
	var out []bucketJSON
	for _, b := range list {
		bm, _ := b.(map[string]any)
		f := func(k string) float64 { x, _ := bm[k].(float64); return x }
		out = append(out, bucketJSON{f("lower"), f("upper"), f("count")})
	}
	return out
}

var shades = []rune(" ░▒▓█")

func shade(n, max float64) rune {
	if n <= 0 || max <= 0 {
		return shades[0]
	}
	i := 1 + int(n/max*float64(len(shades)-2)+0.5)
	return shades[min(i, len(shades)-1)]
}

// drawHistogram prints one row's heatmap as horizontal bars.
func drawHistogram(w io.Writer, label string, v any) {
	bs := heatBuckets(v)
	if label != "" {
		fmt.Fprintf(w, "  %s\n", label)
	}
	maxc := 0.0
	for _, b := range bs {
		maxc = math.Max(maxc, b.Count)
	}
	for i := len(bs) - 1; i >= 0; i-- {
		b := bs[i]
		if b.Count == 0 {
			continue
		}
		bar := strings.Repeat("█", max(1, int(b.Count/maxc*40)))
		fmt.Fprintf(w, "  %10s – %-10s %s %s\n", formatNum(b.Lower), formatNum(b.Upper), bar, formatNum(b.Count))
	}
}

// drawTimeHeatmap prints value buckets (rows, high to low) over time
// buckets (columns), shaded by count.
func drawTimeHeatmap(w io.Writer, label string, series []query.SeriesRow) {
	type col struct {
		t  time.Time
		bs []bucketJSON
	}
	var cols []col
	for _, p := range series {
		cols = append(cols, col{p.Time, heatBuckets(p.Data[label])})
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].t.Before(cols[j].t) })
	// Buckets without events are not in the series: put empty columns in
	// the gaps, with the smallest step between buckets as the width.
	var step time.Duration
	for i := 1; i < len(cols); i++ {
		if d := cols[i].t.Sub(cols[i-1].t); d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	if step > 0 && len(cols) > 1 && cols[len(cols)-1].t.Sub(cols[0].t)/step < 500 {
		var filled []col
		for i, c := range cols {
			if i > 0 {
				for t := cols[i-1].t.Add(step); t.Before(c.t); t = t.Add(step) {
					filled = append(filled, col{t: t})
				}
			}
			filled = append(filled, c)
		}
		cols = filled
	}
	n := 0
	maxc := 0.0
	for _, c := range cols {
		n = max(n, len(c.bs))
		for _, b := range c.bs {
			maxc = math.Max(maxc, b.Count)
		}
	}
	if n == 0 {
		return
	}
	var ref []bucketJSON
	for _, c := range cols {
		if len(c.bs) == n {
			ref = c.bs
			break
		}
	}
	for i := n - 1; i >= 0; i-- {
		var sb strings.Builder
		for _, c := range cols {
			if i < len(c.bs) {
				sb.WriteRune(shade(c.bs[i].Count, maxc))
			} else {
				sb.WriteRune(' ')
			}
		}
		fmt.Fprintf(w, "  %10s │%s\n", formatNum(ref[i].Lower), sb.String())
	}
	fmt.Fprintf(w, "  %10s └%s\n", "", strings.Repeat("─", len(cols)))
	if len(cols) > 0 {
		first, last := cols[0].t.Local().Format("15:04:05"), cols[len(cols)-1].t.Local().Format("15:04:05")
		pad := max(1, len(cols)-len(first)-len(last))
		fmt.Fprintf(w, "  %10s  %s%s%s\n", "", first, strings.Repeat(" ", pad), last)
	}
}
