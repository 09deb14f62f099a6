package app

import (
	"context"
	"fmt"

	"github.com/tracecomb/tracecomb/internal/alerting"
	queryapi "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/notify"
)

// startAlerting runs the trigger evaluator until ctx ends; Shutdown
// cancels ctx and waits for it (and its deliveries) before closing the
// stores.
func (a *App) startAlerting(ctx context.Context) error {
	st, ok := a.store.(queryapi.Store)
	if !ok {
		return fmt.Errorf("store %T cannot run queries", a.store)
	}
	uiURL := ""
	if a.cfg.UIAddr != "" {
		uiURL = "http://" + displayAddr(a.cfg.UIAddr)
	}
	logger := a.logger.With("component", "alerting")
	ncfg := a.cfg.Notify.config() // --smtp-*, --slack-*, --pagerduty-url
	ncfg.Logger, ncfg.Registerer = logger, a.metrics
	n, err := notify.New(ncfg)
	if err != nil {
		return err
	}
	e, err := alerting.New(alerting.Config{
		Notifier:     n,
		Now:          a.cfg.Clock,
		Logger:       logger,
		Tick:         a.cfg.TriggerTick, // --trigger-tick
		QueryTimeout: a.cfg.QueryTimeout,
		UIURL:        uiURL,
	}, st, a.state)
	if err != nil {
		return err
	}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); e.Run(ctx) }()
	return nil
}
