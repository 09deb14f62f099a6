// Package xray serves the AWS X-Ray API (restJson1: every operation is a
// POST to its own path with a JSON body) as an http.Handler, answering in
// X-Ray's own shapes and errors so the AWS CLI, the AWS SDKs and the X-Ray
// SDKs' sampling pollers work against it unchanged.
//
// Layout: handler.go holds the Handler, its Config and the router from
// POST paths to operations; wire.go the shared JSON, error and paging
// helpers; one file per group of operations (sampling.go, groups.go,
// resources.go for tags/encryption/telemetry, policies.go for
// resource policies (stored, not enforced), stubs.go for operations
// answered with empty results); traces.go, summaries.go, rootcauses.go and
// servicegraph.go serve the trace operations over a store, seeing stored
// spans through internal/xrayview (tracemodel.go). sigv4.go is the SigV4
// verification middleware for the authenticated door. The environment a
// request acts on travels in its context (WithEnv / EnvFrom).
package xray
