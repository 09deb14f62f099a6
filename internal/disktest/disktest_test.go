package disktest

import (
	"os"
	"testing"
)

// TestTmpfsFillFree: a 4 MiB tmpfs is filled to its last byte, and
// removing the filler gives the space back.
func TestTmpfsFillFree(t *testing.T) {
	dir := Tmpfs(t, "4m")
	before := Free(t, dir)
	if before <= 0 || before > 4<<20 {
		t.Fatalf("free space of a 4 MiB tmpfs: %d", before)
	}
	p := Fill(t, dir, "part", 1<<20)
	if after := Free(t, dir); before-after < 1<<20 {
		t.Errorf("after writing 1 MiB, %d of %d bytes free", after, before)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	full := Fill(t, dir, "full", 0)
	if n := Free(t, dir); n != 0 {
		t.Errorf("%d bytes free after filling", n)
	}
	if err := os.WriteFile(dir+"/more", []byte("x"), 0o600); err == nil {
		t.Error("a write succeeded on the full file system")
	}
	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	if n := Free(t, dir); n < before-64<<10 {
		t.Errorf("%d bytes free after removing the filler, %d before", n, before)
	}
}
