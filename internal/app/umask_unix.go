//go:build unix

package app

import "syscall"

// privateFiles makes every file and directory the server creates readable
// by its own user only (0600 files, 0700 directories): the store, its WAL,
// the key registry and the X-Ray state hold every environment's data.
func privateFiles() { syscall.Umask(0o077) }
