//go:build unix

package duckdb

import (
	"syscall"
	"time"
)

// processCPU is the user and system time the process has used, DuckDB's
// threads included: on a shared machine a steadier measure of a query's
// work than its wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
