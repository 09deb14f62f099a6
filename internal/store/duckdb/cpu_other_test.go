//go:build !unix

package duckdb

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
