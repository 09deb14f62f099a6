//go:build !unix

package app

// privateFiles does nothing where there is no umask.
func privateFiles() {}
