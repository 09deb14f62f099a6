// Package disktest owns the small file systems that tests fill to see a
// full disk: Tmpfs mounts one for a test (as root; otherwise the test is
// skipped, saying why), Fill fills it, Free reads what is left. Only tests
// import it.
package disktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of size (as mount(8) takes it, e.g. "96m") on a
// directory private to the test and unmounts it when the test ends, or
// skips the test with the reason. The unmount is registered after the
// mount, so it runs after the cleanups the test registers later (the
// processes it starts on the file system, for one).
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs to fill takes root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes the file name in dir until it holds about most bytes or,
// most being 0, until the file system is full down to its last byte (big
// writes, then smaller ones down to one byte). It returns the file's path;
// removing the file frees the space.
func Fill(t testing.TB, dir, name string, most int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := int64(0)
	for size := 64 << 10; size > 0; size /= 4 {
		buf := make([]byte, size)
		for most <= 0 || n < most {
			if _, err := f.Write(buf); err != nil {
				break
			}
			n += int64(size)
		}
		if most > 0 {
			break
		}
	}
	return p
}

// Free is the space left to an unprivileged writer on the file system
// holding dir.
func Free(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}
