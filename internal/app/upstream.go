package app

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/upstream"
)

// ForwardDirName is the directory of the forward queues inside the data
// directory: one subdirectory per target.
const ForwardDirName = "forward"

// forwarding holds the forwarders to the real services
// (docs/forwarding.md): Honeycomb for what Honeycomb's doors accepted,
// X-Ray for what X-Ray's doors accepted.
type forwarding struct {
	honeycomb, xray *upstream.Forwarder
}

// startForwarding opens the forward queues the flags ask for and starts
// sending them; it runs before the doors are built, whose consumers it
// wraps (forwardTo).
func (a *App) startForwarding(ctx context.Context) error {
	a.forward = &forwarding{}
	set := upstream.Settings{Logger: a.logger, Registerer: a.metrics}
	if a.cfg.ForwardHoneycomb != "" {
		f, err := upstream.New(ctx, upstream.Config{
			Target: upstream.TargetHoneycomb, Dir: filepath.Join(a.cfg.DataDir, ForwardDirName, upstream.TargetHoneycomb),
			MaxQueueBytes: a.cfg.ForwardQueueMaxBytes, HoneycombURL: a.cfg.ForwardHoneycomb, HoneycombKey: a.cfg.ForwardKey,
		}, set)
		if err != nil {
			return err
		}
		a.forward.honeycomb = f
		a.logger.Info("forwarding what Honeycomb's doors accept", "to", a.cfg.ForwardHoneycomb)
	}
	if a.cfg.ForwardXRay != "" {
		f, err := upstream.New(ctx, upstream.Config{
			Target: upstream.TargetXRay, Dir: filepath.Join(a.cfg.DataDir, ForwardDirName, upstream.TargetXRay),
			MaxQueueBytes: a.cfg.ForwardQueueMaxBytes, XRayRegion: a.cfg.ForwardXRay, XRayEndpoint: a.cfg.ForwardXRayEndpoint,
		}, set)
		if err != nil {
			return err
		}
		a.forward.xray = f
		a.logger.Info("forwarding what X-Ray's doors accept", "region", a.cfg.ForwardXRay, "endpoint", a.cfg.ForwardXRayEndpoint)
	}
	return nil
}

// forwardTo wraps a door's consumer so that what it stores is also
// forwarded to the service whose door it is, when forwarding to it is on.
func (a *App) forwardTo(d model.Door, c ingest.Consumer) ingest.Consumer {
	if a.forward == nil {
		return c
	}
	f := a.forward.honeycomb
	if d == model.DoorXRay {
		f = a.forward.xray
	}
	if f == nil {
		return c
	}
	return f.Wrap(c)
}

// stopForwarding runs once the batcher committed everything: the
// forwarders send what they can within ctx, keeping a little of it for
// the store's close, and leave the rest queued on disk. After a Start
// that failed they stop at once.
func (a *App) stopForwarding(ctx context.Context) error {
	if a.forward == nil {
		return nil
	}
	fctx := ctx
	if a.serving != nil || a.addrs.HTTP == "" {
		// Start failed: nothing new was accepted, and a start that cannot
		// bind should not wait on a target; the queue stays as it is.
		c, cancel := context.WithCancel(ctx)
		cancel()
		fctx = c
	} else if dl, ok := ctx.Deadline(); ok {
		keep := min(2*time.Second, time.Until(dl)/4)
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, dl.Add(-keep))
		defer cancel()
	}
	var errs []error
	done := make(chan error, 2)
	n := 0
	for _, f := range []*upstream.Forwarder{a.forward.honeycomb, a.forward.xray} {
		if f != nil {
			n++
			go func() { done <- f.Close(fctx) }()
		}
	}
	for range n {
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}
