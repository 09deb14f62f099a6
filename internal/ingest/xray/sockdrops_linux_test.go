//go:build linux

package xray

import (
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// rxqOvfl is the control message Linux attaches to a read once the socket
// has dropped n datagrams.
func rxqOvfl(n uint32) []byte {
	b := make([]byte, syscall.CmsgSpace(4))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL
	h.SetLen(syscall.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[syscall.CmsgLen(0):], n)
	return b
}

func TestSocketDrops(t *testing.T) {
	if n, ok := socketDrops(rxqOvfl(4242)); !ok || n != 4242 {
		t.Errorf("socketDrops = %d, %v; want 4242", n, ok)
	}
	both := append(syscall.UnixRights(3), rxqOvfl(7)...)
	if n, ok := socketDrops(both); !ok || n != 7 {
		t.Errorf("after another message: %d, %v; want 7", n, ok)
	}
	for _, b := range [][]byte{nil, syscall.UnixRights(3), rxqOvfl(1)[:syscall.CmsgLen(0)+2]} {
		if n, ok := socketDrops(b); ok {
			t.Errorf("socketDrops(%x) = %d, want none", b, n)
		}
	}
}

func FuzzSocketDrops(f *testing.F) {
	f.Add(rxqOvfl(1))
	f.Add(append(syscall.UnixRights(3), rxqOvfl(7)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := socketDrops(b)
		if !ok && n != 0 {
			t.Fatalf("no count, yet %d", n)
		}
	})
}

// TestDaemonCountsSocketDrops: datagrams the kernel drops because nobody
// read the socket in time are counted (reason socket_buffer), so that
// received plus dropped is what was sent.
func TestDaemonCountsSocketDrops(t *testing.T) {
	d, err := NewDaemon(Config{}, nopConsumer, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetReadBuffer(1); err != nil { // the kernel's least, a few datagrams
		t.Fatal(err)
	}
	if !watchSocketDrops(conn) {
		t.Fatal("the kernel refused SO_RXQ_OVFL")
	}
	d.watchDrops = true
	c, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := 0
	for i := range 200 { // nobody reads yet: the kernel drops most
		if _, err := c.Write(annotatedDatagram(i)); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	d.readers.Add(1)
	go d.read(conn)
	dropped := func() float64 { return testutil.ToFloat64(d.m.dropped.WithLabelValues(dropSocketBuffer)) }
	// Later datagrams carry the running count of drops.
	eventually(t, "every datagram received or counted as dropped", func() bool {
		if _, err := c.Write(annotatedDatagram(sent)); err != nil {
			t.Fatal(err)
		}
		sent++
		time.Sleep(5 * time.Millisecond)
		return testutil.ToFloat64(d.m.received)+dropped() == float64(sent)
	})
	if dropped() == 0 {
		t.Error("no drops counted with 200 datagrams sent to a socket nobody read")
	}
	conn.Close()
	d.readers.Wait()
}

// TestSetSocketBuffer: asked for twice net.core.rmem_max, the socket gets
// at least the cap (more with CAP_NET_ADMIN), and the kernel reports it
// doubled.
func TestSetSocketBuffer(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := setSocketBuffer(conn, 2*rmemMax)
	if got < 2*rmemMax {
		t.Errorf("asked for %d bytes (net.core.rmem_max %d), the kernel reports %d", 2*rmemMax, rmemMax, got)
	}
	t.Logf("asked for %d bytes (net.core.rmem_max %d), the kernel reports %d", 2*rmemMax, rmemMax, got)
}
