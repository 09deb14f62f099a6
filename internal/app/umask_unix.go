//go:build unix

package app

import "syscall"

// privateFiles makes every file and directory the process creates
// readable by its own user only (0600 files, 0700 directories): the store,
// its WAL, the key registry and the X-Ray state hold every environment's
// data. `tracecomb serve` and `tracecomb keys` set it before they open the
// data directory.
func privateFiles() { syscall.Umask(0o077) }
