//go:build unix

package app

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// tightenDataDir makes an existing data directory and everything in it
// readable by tracecomb's user only (directories 0700, files 0600, by
// clearing the group and other bits), as a new one is: older versions
// created them 0755 and 0644, leaving every environment's data readable
// by every local user. It logs what it changed; what it cannot change
// (a file of another user) it logs and leaves.
func tightenDataDir(dir string, logger *slog.Logger) {
	if _, err := os.Lstat(dir); err != nil {
		return // a new directory: created private
	}
	var changed []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil // leave links, sockets and the like alone
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		perm := fi.Mode().Perm()
		if perm&0o077 == 0 {
			return nil
		}
		if err := os.Chmod(path, perm&^0o077); err != nil {
			logger.Warn("cannot make a file of the data directory private", "path", path, "mode", perm.String(), "err", err)
			return nil
		}
		changed = append(changed, path)
		return nil
	})
	if err != nil {
		logger.Warn("cannot check the data directory's permissions", "data_dir", dir, "err", err)
	}
	if len(changed) > 0 {
		logger.Info("made the data directory readable by its owner only (directories 0700, files 0600); other users could read it",
			"data_dir", dir, "changed", len(changed))
	}
}
