// Package layers owns the import rule of the module: packages sit in
// layers, and a package imports only packages of lower layers, so that
// dependencies run one way (telemetry model at the bottom, the
// composition root internal/app near the top, cmd above it). Its test
// reads the real import graph with `go list` and fails on an import
// against the rule, on a package missing from the table, and on anything
// but cmd importing internal/app.
package layers
