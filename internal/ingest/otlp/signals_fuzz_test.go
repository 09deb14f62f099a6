package otlp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/model"
)

// signalSeeds returns a signal's testdata requests as OTLP/JSON and as
// protobuf.
func signalSeeds(f *testing.F, sc signalCase) (jsonSeeds, pbSeeds [][]byte) {
	files, err := filepath.Glob(filepath.Join("testdata", sc.dir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		jsonSeeds = append(jsonSeeds, b)
		pbSeeds = append(pbSeeds, signalProto(f, sc, b))
	}
	return jsonSeeds, pbSeeds
}

// checkSignalResult holds for every successful logs or metrics decode:
// every event has a dataset, a sample rate, its signal type and the
// annotation its kind needs, and the counts add up.
func checkSignalResult(t *testing.T, sig signalKind, res Result) {
	for i := range res.Events {
		e := &res.Events[i]
		if e.Dataset == "" || e.SampleRate < 1 || e.Source != model.SourceOTLP {
			t.Fatalf("event %d: dataset %q sample rate %d source %v", i, e.Dataset, e.SampleRate, e.Source)
		}
		switch sig {
		case sigLogs:
			if e.TraceID.IsZero() != (e.AnnotationType == "") && e.AnnotationType != "" && e.AnnotationType != model.AnnotationSpanEvent {
				t.Fatalf("log %d: trace id %v annotation %q", i, e.TraceID, e.AnnotationType)
			}
		case sigMetrics:
			if e.AnnotationType != annotationMetricEvnt || !e.TraceID.IsZero() {
				t.Fatalf("metric event %d: annotation %q trace %v", i, e.AnnotationType, e.TraceID)
			}
		}
		_ = e.AppendJSON(nil)
	}
	switch sig {
	case sigLogs:
		if len(res.Events) != res.Accepted || res.Rejected != 0 {
			t.Fatalf("%d log events, accepted %d, rejected %d", len(res.Events), res.Accepted, res.Rejected)
		}
	case sigMetrics:
		if len(res.Events) > res.Accepted {
			t.Fatalf("%d metric events from %d points", len(res.Events), res.Accepted)
		}
	}
	if (res.Rejected > 0) != (res.RejectMessage != "") {
		t.Fatalf("rejected %d with message %q", res.Rejected, res.RejectMessage)
	}
}

func FuzzDecodeLogsProtobuf(f *testing.F) {
	_, pbSeeds := signalSeeds(f, signalCases[0])
	for _, s := range pbSeeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x04, 0x12, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeLogsProtobuf(body, goldenInfo)
		if err != nil {
			return
		}
		checkSignalResult(t, sigLogs, res)
		// The wire decoder must agree with proto.Unmarshal wherever
		// proto.Unmarshal accepts the input.
		var req collogspb.ExportLogsServiceRequest
		if proto.Unmarshal(body, &req) != nil {
			return
		}
		want, err := ConvertLogs(&req, goldenInfo)
		if err != nil {
			t.Fatalf("proto.Unmarshal's request fails to convert: %v", err)
		}
		if got, want := render(res), render(want); !bytes.Equal(got, want) {
			t.Fatalf("wire decoder and proto.Unmarshal differ:\n got %s\nwant %s", got, want)
		}
	})
}

func FuzzDecodeLogsJSON(f *testing.F) {
	jsonSeeds, _ := signalSeeds(f, signalCases[0])
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz","spanId":"b7ad6b7169203331","body":{"kvlistValue":{"values":[{"key":"a","value":{}}]}}}]}]}]}`))
	f.Add([]byte(`{"resource_logs":[{"scope_logs":[{"log_records":[{"trace_id":"0AF7651916CD43DD8448EB211C80319C","severity_number":"SEVERITY_NUMBER_WARN"}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeLogsJSON(body, goldenInfo)
		if err != nil {
			return
		}
		checkSignalResult(t, sigLogs, res)
	})
}

func FuzzDecodeMetricsProtobuf(f *testing.F) {
	_, pbSeeds := signalSeeds(f, signalCases[1])
	for _, s := range pbSeeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeMetricsProtobuf(body, goldenInfo)
		if err != nil {
			return
		}
		checkSignalResult(t, sigMetrics, res)
	})
}

func FuzzDecodeMetricsJSON(f *testing.F) {
	jsonSeeds, _ := signalSeeds(f, signalCases[1])
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","exponentialHistogram":{"dataPoints":[{"count":"1","scale":-10,"positive":{"offset":-2147483648,"bucketCounts":["1"]}}]}}]}]}]}`))
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"s","summary":{"dataPoints":[{"count":"0","quantileValues":[{"quantile":2,"value":1}]}]}}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeMetricsJSON(body, goldenInfo)
		if err != nil {
			return
		}
		checkSignalResult(t, sigMetrics, res)
	})
}
