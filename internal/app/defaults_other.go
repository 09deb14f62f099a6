//go:build !unix

package app

import "log/slog"

// tightenDataDir does nothing where there are no Unix permissions.
func tightenDataDir(string, *slog.Logger) {}
