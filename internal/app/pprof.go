package app

import (
	"context"
	"net/http"
	"net/http/pprof"
)

// startPprof starts the profiling door (Go's net/http/pprof handlers) when
// --pprof-addr is set. It is off by default and has no auth: bind it to
// loopback. It exists to profile the server under real load, e.g.
// `go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=20`
// while `make bench-quick` runs against it.
func (a *App) startPprof(ctx context.Context) error {
	if a.cfg.PprofAddr == "" {
		return nil
	}
	ln, err := a.listen("tcp", a.cfg.PprofAddr, "pprof")
	if err != nil {
		return err
	}
	a.addrs.Pprof = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.pprofServer = a.newHTTPServer(mux)
	a.pprofServer.WriteTimeout = 0 // a CPU profile takes as long as it was asked to
	a.serve("pprof", func() error { return a.pprofServer.Serve(ln) })
	return nil
}
