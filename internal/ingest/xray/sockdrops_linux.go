//go:build linux

package xray

import (
	"encoding/binary"
	"net"
	"syscall"
)

// watchSocketDrops asks Linux to tell, with each datagram read on c, how
// many datagrams the socket has dropped so far because its receive buffer
// was full (SO_RXQ_OVFL). It reports whether the kernel agreed.
func watchSocketDrops(c *net.UDPConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil {
		return false
	}
	return serr == nil
}

// socketDropsOOB is room for the control message of SO_RXQ_OVFL.
var socketDropsOOB = syscall.CmsgSpace(4)

// socketDrops returns the count of dropped datagrams that an SO_RXQ_OVFL
// control message in oob carries; ok is false when there is none (Linux
// sends it only once the socket has dropped something).
func socketDrops(oob []byte) (n uint32, ok bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}

// setSocketBuffer asks for a receive buffer of n bytes: past
// net.core.rmem_max when the process may (CAP_NET_ADMIN, SO_RCVBUFFORCE),
// else up to it (SO_RCVBUF). It returns the size the kernel reports,
// which counts its own bookkeeping (twice what was granted), or 0 if it
// cannot be read.
func setSocketBuffer(c *net.UDPConn, n int) int {
	raw, err := c.SyscallConn()
	if err != nil {
		_ = c.SetReadBuffer(n)
		return 0
	}
	got := 0
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		got, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return got
}
