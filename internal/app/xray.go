package app

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"sort"

	xrayapi "github.com/tracecomb/tracecomb/internal/api/xray"
	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
)

// xrayMaxBody bounds X-Ray API bodies: PutTraceSegments carries up to 50
// documents of 64 KiB, as the real daemon batches them.
const xrayMaxBody = 8 << 20

// startXRayControl opens X-Ray's control plane (sampling rules, groups,
// Transaction Search's indexing: sampling.Manager) before any door, since
// X-Ray's doors decide with it where each trace's spans go.
func (a *App) startXRayControl(ctx context.Context) error {
	if err := sampling.Import(ctx, a.state, filepath.Join(a.cfg.DataDir, "xray")); err != nil {
		return fmt.Errorf("importing the X-Ray configuration of %s: %w", a.cfg.DataDir, err)
	}
	meta, err := sampling.New(sampling.Config{
		State:          a.state,
		Region:         a.cfg.AWSRegion,
		ValidateFilter: func(expr string) error { _, err := xrayfilter.Parse(expr); return err },
		Logger:         a.logger.With("component", "sampling"),
	})
	if err != nil {
		return err
	}
	a.xrayMeta = meta
	a.wg.Add(1)
	go func() { defer a.wg.Done(); meta.Watch(ctx) }()
	return nil
}

// newXRayHandler builds the X-Ray API (control plane and trace operations)
// over the store; it is mounted on the API door behind SigV4, on the daemon
// door unsigned for one environment, and on the UI door.
func (a *App) newXRayHandler() (*xrayapi.Handler, error) {
	meta := a.xrayMeta
	h, err := xrayapi.New(xrayapi.Config{Meta: meta, MaxBodyBytes: xrayMaxBody, Logger: a.logger.With("component", "xray-api")})
	if err != nil {
		return nil, err
	}
	doors := []model.Door{model.DoorXRay}
	if a.cfg.XRayIncludeOTel {
		doors = append(doors, model.DoorHoneycomb)
	}
	if err := h.RegisterTraceOperations(xrayapi.TraceDeps{Store: a.store, Doors: doors, Consumer: a.doorConsumer(model.DoorXRay),
		QueryTimeout: a.cfg.XRayQueryTimeout}); err != nil {
		return nil, err
	}
	return h, nil
}

// registerXRay mounts the X-Ray API on the API door: every operation's
// POST path, SigV4-verified against the AWS key pairs of the registry.
func (a *App) registerXRay(ctx context.Context, mux *http.ServeMux) error {
	h, err := a.newXRayHandler()
	if err != nil {
		return err
	}
	a.xray = h
	signed, err := xrayapi.SigV4(xrayapi.SigV4Config{Credentials: awsCredentials{a.registry}, MaxBodyBytes: xrayMaxBody}, h)
	if err != nil {
		return err
	}
	a.xraySigned = signed
	paths := make([]string, 0, len(h.Operations()))
	for p := range h.Operations() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		mux.Handle("POST "+p, signed)
	}
	return nil
}

// startXRayDaemon opens the X-Ray daemon door: UDP segment datagrams and,
// on the same TCP port, the X-Ray API unsigned for --xray-env, as the real
// daemon's proxy serves the SDKs' sampling calls (with --xray-door-sigv4,
// every other operation must be signed). The door refuses what a web page
// could send it and, bound to loopback, foreign Host headers.
func (a *App) startXRayDaemon(ctx context.Context) error {
	if a.cfg.XRayAddr == "" {
		return nil
	}
	ln, err := a.listen("tcp", a.cfg.XRayAddr, "xray-tcp")
	if err != nil {
		return err
	}
	a.addrs.XRay = ln.Addr().String()
	env := a.cfg.XRayEnv
	h := a.xray
	unsigned := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(xrayapi.WithEnv(r.Context(), env)))
	})
	var door http.Handler = unsigned
	if a.cfg.XRayDoorSigV4 {
		signed := a.xraySigned
		door = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/GetSamplingRules" || r.URL.Path == "/SamplingTargets" {
				unsigned.ServeHTTP(w, r) // the SDKs' own calls, which the real daemon signs for them
				return
			}
			signed.ServeHTTP(w, r)
		})
	}
	door = xrayapi.GuardDaemonDoor(xrayapi.DaemonGuardConfig{LoopbackOnly: ln.Addr().(*net.TCPAddr).IP.IsLoopback()}, door)
	tcp := a.newHTTPServer(door)
	a.serve("xray-tcp", func() error { return tcp.Serve(ln) })
	a.stoppers = append(a.stoppers, a.stopHTTP("xray-tcp", tcp))

	// UDP on the port the TCP listener got (they share it, as the daemon's do).
	udpAddr := ln.Addr().(*net.TCPAddr)
	cfg := xrayingest.DefaultConfig()
	cfg.Addr = net.JoinHostPort(udpAddr.IP.String(), fmt.Sprint(udpAddr.Port))
	cfg.Env = env
	cfg.QueueBytes = a.cfg.XRayQueueBytes
	cfg.DatagramBytes = a.cfg.XRayDatagramBytes
	cfg.SocketBuffer = int(min(a.cfg.XRaySocketBuffer, math.MaxInt32))
	d, err := xrayingest.NewDaemon(cfg, a.doorConsumer(model.DoorXRay), xrayingest.Settings{Logger: a.logger.With("door", "xray-udp"), Registerer: a.metrics,
		Pending: a.batcher.Budget()})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return bindError("xray-udp", cfg.Addr, err)
	}
	a.logger.Info("listening", "door", "xray-udp", "addr", d.Addr().String())
	// Stoppers run last-added first: the UDP daemon flushes before the
	// batcher closes.
	a.stoppers = append(a.stoppers, d.Shutdown)
	return nil
}

// awsCredentials lets SigV4 look up the registry's AWS key pairs.
type awsCredentials struct {
	r interface {
		LookupAWS(id string) (secret, env string, ok bool)
	}
}

func (c awsCredentials) Lookup(accessKeyID string) (secret, env string, ok bool) {
	return c.r.LookupAWS(accessKeyID)
}
