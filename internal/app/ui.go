package app

import (
	"context"
	"net"

	"github.com/tracecomb/tracecomb/internal/api/ui"
	xrayapi "github.com/tracecomb/tracecomb/internal/api/xray"
)

// startUI starts the web UI door. It is open (no login) when bound to a
// loopback address and asks for a key otherwise. The UI's API calls go to
// the HTTP door's own handler, so the UI and the API answer alike.
func (a *App) startUI(ctx context.Context) error {
	if a.cfg.UIAddr == "" {
		return nil
	}
	ln, err := a.listen("tcp", a.cfg.UIAddr, "ui")
	if err != nil {
		return err
	}
	a.addrs.UI = ln.Addr().String()
	open := false
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		open = tcp.IP.IsLoopback()
	}
	deps := ui.Deps{
		API:       a.httpServer.Handler,
		Registry:  a.registry,
		Retention: a.uiRetention(), // retention.go
		Logger:    a.logger.With("door", "ui"),
	}
	if a.xray != nil {
		// The X-Ray API without its SigV4 wrapper: the UI door has
		// authenticated the browser and names the environment.
		deps.XRay, deps.XRayEnv, deps.XRayDoors = a.xray, xrayapi.WithEnv, xrayapi.WithDoors
	}
	h := ui.New(ui.Config{
		Open:             open,
		OTLPHTTPEndpoint: "http://" + displayAddr(a.addrs.HTTP),
		OTLPGRPCEndpoint: displayAddr(a.addrs.OTLPGRPC),
		XRayDaemonAddr:   displayAddr(a.addrs.XRay),
	}, deps)
	a.uiServer = a.newHTTPServer(h)
	a.serve("ui", func() error { return a.uiServer.Serve(ln) })
	return nil
}

// displayAddr turns a bound address into one a client on this machine can
// dial (an unspecified host becomes localhost).
func displayAddr(addr string) string {
	if addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
