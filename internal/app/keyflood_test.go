package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/store"
)

// keyFloodApp starts tracecomb in-process with the given column limits
// (0: the defaults) and returns its API address and a key (every
// permission) for each environment named.
func keyFloodApp(t *testing.T, datasetColumns, envColumns int, envs ...string) (base string, cfg Config, keys map[string]string) {
	t.Helper()
	cfg = DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapKey = "keyflood-bootstrap-0123456789"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", ""
	if datasetColumns > 0 {
		cfg.MaxDatasetColumns = datasetColumns
	}
	if envColumns > 0 {
		cfg.MaxEnvColumns = envColumns
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	keys = map[string]string{}
	for _, env := range envs {
		_, secret, err := a.Registry().CreateKey(auth.KeySpec{Env: env, Kind: auth.KindConfiguration})
		if err != nil {
			t.Fatal(err)
		}
		keys[env] = secret
	}
	return "http://" + a.Addrs().HTTP, cfg, keys
}

// otlpAnswer is what an OTLP/HTTP export got: the status and, on 200, the
// partial success.
type otlpAnswer struct {
	status   int
	rejected int64
	message  string
	err      error
}

func postOTLP(client *http.Client, base, key string, body []byte) otlpAnswer {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Honeycomb-Team", key)
	resp, err := client.Do(req)
	if err != nil {
		return otlpAnswer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := otlpAnswer{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		a.message = string(b)
		return a
	}
	var r coltracepb.ExportTraceServiceResponse
	if err := proto.Unmarshal(b, &r); err != nil {
		a.err = fmt.Errorf("response: %w", err)
		return a
	}
	a.rejected, a.message = r.GetPartialSuccess().GetRejectedSpans(), r.GetPartialSuccess().GetErrorMessage()
	return a
}

// otlpSpans assembles an export of one resource (service) and the spans
// given already encoded, in the wire format: much faster than building a
// million attribute messages.
func otlpSpans(t *testing.T, service string, spans [][]byte) []byte {
	t.Helper()
	res, err := proto.Marshal(&resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
		Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: service}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var scope []byte
	for _, s := range spans {
		scope = protowire.AppendTag(scope, 2, protowire.BytesType) // ScopeSpans.spans
		scope = protowire.AppendBytes(scope, s)
	}
	rs := protowire.AppendTag(nil, 1, protowire.BytesType) // ResourceSpans.resource
	rs = protowire.AppendBytes(rs, res)
	rs = protowire.AppendTag(rs, 2, protowire.BytesType) // ResourceSpans.scope_spans
	rs = protowire.AppendBytes(rs, scope)
	req := protowire.AppendTag(nil, 1, protowire.BytesType) // ExportTraceServiceRequest.resource_spans
	return protowire.AppendBytes(req, rs)
}

// keyFloodSpan encodes span i of trace tr with the attributes keys.
func keyFloodSpan(t *testing.T, tr uint64, i int, keys []string) []byte {
	t.Helper()
	tid := make([]byte, 16)
	binary.BigEndian.PutUint64(tid, tr)
	binary.BigEndian.PutUint64(tid[8:], tr)
	sid := make([]byte, 8)
	binary.BigEndian.PutUint64(sid, uint64(i+1))
	now := uint64(time.Now().UnixNano())
	s := &tracepb.Span{TraceId: tid, SpanId: sid, Name: "op", StartTimeUnixNano: now, EndTimeUnixNano: now + 3_000_000,
		Attributes: make([]*commonpb.KeyValue, len(keys))}
	for k, key := range keys {
		s.Attributes[k] = &commonpb.KeyValue{Key: key, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(k)}}}
	}
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyFloodWideSpan is keyFloodSpan with n attributes named
// flood.key_<first+j> (seven digits) for j = 0…n-1: the attributes are
// appended to the span's encoding in the wire format (fields may come in
// any order), much faster than marshalling the KeyValue messages.
func keyFloodWideSpan(t *testing.T, tr uint64, i, first, n int) []byte {
	t.Helper()
	b := keyFloodSpan(t, tr, i, nil)
	var name, value, kv []byte
	for j := range n {
		digits := strconv.AppendInt(nil, int64(first+j), 10)
		name = append(append(append(name[:0], "flood.key_"...), "0000000"[min(len(digits), 7):]...), digits...)
		value = protowire.AppendTag(value[:0], 3, protowire.VarintType) // AnyValue.int_value
		value = protowire.AppendVarint(value, uint64(j))
		kv = protowire.AppendTag(kv[:0], 1, protowire.BytesType) // KeyValue.key
		kv = protowire.AppendBytes(kv, name)
		kv = protowire.AppendTag(kv, 2, protowire.BytesType) // KeyValue.value
		kv = protowire.AppendBytes(kv, value)
		b = protowire.AppendTag(b, 9, protowire.BytesType) // Span.attributes
		b = protowire.AppendBytes(b, kv)
	}
	return b
}

// TestKeyFloodWideSpan: keyFloodWideSpan's span is keyFloodSpan's with
// the same keys.
func TestKeyFloodWideSpan(t *testing.T) {
	var wide, want tracepb.Span
	if err := proto.Unmarshal(keyFloodWideSpan(t, 7, 3, 999_998, 3), &wide); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(keyFloodSpan(t, 7, 3, []string{"flood.key_0999998", "flood.key_0999999", "flood.key_1000000"}), &want); err != nil {
		t.Fatal(err)
	}
	wide.StartTimeUnixNano, wide.EndTimeUnixNano = want.StartTimeUnixNano, want.EndTimeUnixNano
	if !proto.Equal(&wide, &want) {
		t.Fatalf("keyFloodWideSpan:\n%v\nwant\n%v", &wide, &want)
	}
}

// columnNames returns the names /1/columns lists for a dataset (404: none).
func columnNames(t *testing.T, base, key, dataset string) []string {
	t.Helper()
	var cols []struct {
		KeyName string `json:"key_name"`
	}
	switch code := getJSON(t, base+"/1/columns/"+dataset, key, &cols); code {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil
	default:
		t.Fatalf("/1/columns/%s: %d", dataset, code)
	}
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.KeyName
	}
	return out
}

// TestKeyFloodDoesNotSlowOtherEnvironments: one tenant's flood of distinct
// keys through the running server, at full scale: environment "flood" sends 1M
// distinct attribute keys over OTLP/HTTP (4 exports of 500 spans × 500
// new keys, 6.5 MB each) while environment "quiet" sends 50-span exports
// at a steady 1,000 spans/s (four senders keeping to a schedule, catching
// up when late). In-process, 14-18 s. With the default column limits:
//   - every flood export is answered 200 with OTLP partial success:
//     the spans past the dataset's 10,000 columns rejected with
//     Honeycomb's "Dataset has too many columns.";
//   - /1/columns for the flooded dataset lists at most the limit;
//   - "quiet" keeps at least half the rate it had just before the flood
//     (measured in the same run), during the flood and in the 6 s after
//     it (a catalog flush, every 5 s, is in that window: the slowdown's
//     cause was that flush rewriting the whole catalog under the write
//     lock); every one of its exports is answered 200 with nothing
//     rejected.
func TestKeyFloodDoesNotSlowOtherEnvironments(t *testing.T) {
	base, cfg, keys := keyFloodApp(t, 0, 0, "flood", "quiet")
	client := &http.Client{Timeout: time.Minute}

	// The flood, built before anything is measured.
	const floodExports, floodSpans, keysPerSpan = 4, 500, 500
	var flood [][]byte
	k := 0
	for x := range floodExports {
		spans := make([][]byte, floodSpans)
		for i := range spans {
			spans[i] = keyFloodWideSpan(t, uint64(1_000_000+x), i, k, keysPerSpan)
			k += keysPerSpan
		}
		flood = append(flood, otlpSpans(t, "spam", spans))
	}
	// The quiet environment's exports: 50 spans of 20 fields, a new trace
	// each.
	quietFields := make([]string, 20)
	for f := range quietFields {
		quietFields[f] = fmt.Sprintf("app.field_%02d", f)
	}
	quiet := func(n int) []byte {
		spans := make([][]byte, 50)
		for i := range spans {
			spans[i] = keyFloodSpan(t, uint64(n), i, quietFields)
		}
		return otlpSpans(t, "shop", spans)
	}
	quietBodies := make([][]byte, 64)
	for i := range quietBodies {
		quietBodies[i] = quiet(i + 1) // reused round robin: the store takes duplicates
	}

	// The quiet senders: export n is due at start + n × 50 ms; four send
	// at once at most (as several SDKs, or one with concurrent exports),
	// so the schedule holds while an export takes up to 200 ms.
	const interval, quietSenders = 50 * time.Millisecond, 4
	type done struct {
		at      time.Time
		spans   int
		latency time.Duration
	}
	var (
		mu       sync.Mutex
		finished []done
		failures []string
		next     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range quietSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				n := next.Add(1) - 1
				time.Sleep(time.Until(start.Add(time.Duration(n) * interval)))
				sent := time.Now()
				a := postOTLP(client, base, keys["quiet"], quietBodies[n%int64(len(quietBodies))])
				mu.Lock()
				if a.err != nil || a.status != http.StatusOK || a.rejected != 0 {
					failures = append(failures, fmt.Sprintf("%d %d rejected %q %v", a.status, a.rejected, a.message, a.err))
				} else {
					finished = append(finished, done{time.Now(), 50, time.Since(sent)})
				}
				mu.Unlock()
			}
		}()
	}
	// rate is the spans stored per second in [from, to), and the median
	// and longest export latency.
	rate := func(from, to time.Time) (float64, time.Duration, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		var lat []time.Duration
		for _, d := range finished {
			if !d.at.Before(from) && d.at.Before(to) {
				n += d.spans
				lat = append(lat, d.latency)
			}
		}
		if len(lat) == 0 {
			return 0, 0, 0
		}
		slices.Sort(lat)
		return float64(n) / to.Sub(from).Seconds(), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond)
	}

	time.Sleep(time.Second) // warm up
	beforeFrom := time.Now()
	time.Sleep(4 * time.Second)
	floodFrom := time.Now()
	var rejected int64
	var floodTimes []time.Duration
	for x, body := range flood {
		sent := time.Now()
		a := postOTLP(client, base, keys["flood"], body)
		floodTimes = append(floodTimes, time.Since(sent).Round(time.Millisecond))
		if a.err != nil || a.status != http.StatusOK {
			t.Fatalf("flood export %d: %d %q %v; want 200 with a partial success", x, a.status, a.message, a.err)
		}
		if a.rejected == 0 || !strings.Contains(a.message, store.TooManyColumnsMessage) {
			t.Errorf("flood export %d: %d spans rejected, %q; want the spans past the limit rejected with %q", x, a.rejected, a.message, store.TooManyColumnsMessage)
		}
		rejected += a.rejected
	}
	floodTo := time.Now()
	time.Sleep(6 * time.Second)
	afterTo := time.Now()
	stop.Store(true)
	wg.Wait()

	before, p50b, maxb := rate(beforeFrom, floodFrom)
	during, p50d, maxd := rate(floodFrom, floodTo)
	after, p50a, maxa := rate(floodTo, afterTo)
	t.Logf("flood of %d keys in %d exports of %.1f MB took %v %v: %d of %d spans rejected", k, floodExports, float64(len(flood[0]))/1e6,
		floodTo.Sub(floodFrom).Round(time.Millisecond), floodTimes, rejected, floodExports*floodSpans)
	t.Logf("quiet environment (scheduled %.0f spans/s): %.0f spans/s before the flood (latency p50 %v, max %v), %.0f during (%v, %v), %.0f in the 6 s after (%v, %v)",
		50/interval.Seconds(), before, p50b, maxb, during, p50d, maxd, after, p50a, maxa)
	mu.Lock()
	if len(failures) > 0 {
		t.Errorf("%d quiet exports failed, e.g. %s", len(failures), failures[0])
	}
	mu.Unlock()
	if before == 0 || during < before/2 || after < before/2 {
		t.Errorf("the quiet environment's rate fell from %.0f spans/s to %.0f during the flood and %.0f after it; want at least half", before, during, after)
	}
	cols := columnNames(t, base, keys["flood"], "spam")
	t.Logf("/1/columns/spam lists %d columns (limit %d)", len(cols), cfg.MaxDatasetColumns)
	if len(cols) > cfg.MaxDatasetColumns || len(cols) == 0 {
		t.Errorf("/1/columns/spam lists %d columns; want some, at most the limit %d", len(cols), cfg.MaxDatasetColumns)
	}
	if rejected >= floodExports*floodSpans {
		t.Errorf("every flood span was rejected; the dataset should have taken spans up to its limit")
	}
}

// TestEnvColumnLimit: --max-env-columns caps the columns of all an
// environment's datasets together. With 100 per dataset and 250 per
// environment, environment "wide" exports to three datasets a span of 80
// fields each (91 columns with the hot ones: every dataset under its own
// limit): the first two are stored, the third would take the environment
// past 250 and is rejected (OTLP partial success, "Dataset has too many
// columns.") and gets no columns; environment "other" then exports the
// same span to the third dataset and to the first, both stored: the cap
// is each environment's own.
func TestEnvColumnLimit(t *testing.T) {
	base, _, keys := keyFloodApp(t, 100, 250, "wide", "other")
	client := &http.Client{Timeout: time.Minute}
	fields := make([]string, 80)
	for i := range fields {
		fields[i] = fmt.Sprintf("field_%02d", i)
	}
	for i, c := range []struct {
		env, ds string
		refuse  bool
	}{
		{"wide", "one", false}, {"wide", "two", false}, {"wide", "three", true},
		{"other", "three", false}, {"other", "one", false},
		{"wide", "one", false}, // columns it has: stored at the cap
	} {
		body := otlpSpans(t, c.ds, [][]byte{keyFloodSpan(t, uint64(i+1), 0, fields)})
		a := postOTLP(client, base, keys[c.env], body)
		if a.err != nil || a.status != http.StatusOK {
			t.Fatalf("%s/%s: %d %q %v", c.env, c.ds, a.status, a.message, a.err)
		}
		switch {
		case c.refuse && (a.rejected != 1 || !strings.Contains(a.message, store.TooManyColumnsMessage)):
			t.Errorf("%s/%s: %d rejected %q; want the span rejected with %q", c.env, c.ds, a.rejected, a.message, store.TooManyColumnsMessage)
		case !c.refuse && a.rejected != 0:
			t.Errorf("%s/%s: %d rejected %q; want it stored", c.env, c.ds, a.rejected, a.message)
		}
		cols := columnNames(t, base, keys[c.env], c.ds)
		switch {
		case c.refuse && len(cols) != 0:
			t.Errorf("%s/%s has %d columns; want none (its only span was refused)", c.env, c.ds, len(cols))
		case !c.refuse && len(cols) < len(fields):
			t.Errorf("%s/%s has %d columns; want its %d fields and more", c.env, c.ds, len(cols), len(fields))
		}
	}
	var sets []struct {
		Slug    string `json:"slug"`
		Columns int    `json:"regular_columns_count"`
	}
	if code := getJSON(t, base+"/1/datasets", keys["wide"], &sets); code != http.StatusOK {
		t.Fatalf("/1/datasets: %d", code)
	}
	total := 0
	for _, d := range sets {
		total += d.Columns
	}
	if len(sets) != 2 || total > 250 {
		t.Errorf("datasets of wide: %+v; want one and two, at most 250 columns together", sets)
	}
}
