//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package duckdb

import "errors"

// freeBytes is unknown here: Healthy waits for a write to succeed.
func freeBytes(string) (int64, error) { return 0, errors.ErrUnsupported }
