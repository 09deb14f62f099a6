package otlp

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
)

const (
	goodKey     = "hcaik_01jdn2n65j7kfecwmt3902a9gm0123456789abcdef0123456789abcdef"
	disabledKey = "hcaik_01jdn2n65j7kfecwmt3902a9gmdisableddisableddisableddisabled0"
	testEnv     = "test"
)

// testAuth knows one good key and one disabled key.
var testAuth = auth.AuthenticatorFunc(func(_ context.Context, key string) (auth.Principal, error) {
	switch key {
	case "":
		return auth.Principal{}, auth.ErrMissingKey
	case goodKey:
		return auth.Principal{KeyID: "hcaik_01jdn2n65j7kfecwmt3902a9gm", Env: testEnv, EnvName: "Test", Kind: auth.KindIngest}, nil
	case disabledKey:
		return auth.Principal{}, auth.ErrDisabledKey
	}
	return auth.Principal{}, auth.ErrUnknownKey
})

// recorder is a consumer that keeps what it is given and fails with err.
type recorder struct {
	mu    sync.Mutex
	err   error
	calls []recorded
}

type recorded struct {
	env    string
	events []model.Event
}

func (r *recorder) Consume(_ context.Context, env string, events []model.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.calls = append(r.calls, recorded{env, events})
	return nil
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.calls...)
}

func (r *recorder) events() []model.Event {
	var out []model.Event
	for _, c := range r.all() {
		out = append(out, c.events...)
	}
	return out
}

func newDeps(rec *recorder, reg prometheus.Registerer) Deps {
	return Deps{Auth: testAuth, Consumer: rec, Metrics: reg}
}

// counter reads one sample of a registered counter.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// mustConvert is Convert with the default limits, failing the test on an
// error.
func mustConvert(tb testing.TB, req *coltracepb.ExportTraceServiceRequest) Result {
	tb.Helper()
	res, err := Convert(req, RequestInfo{})
	if err != nil {
		tb.Fatalf("Convert: %v", err)
	}
	return res
}
