//go:build !linux

package xray

import "net"

// watchSocketDrops: only Linux reports a socket's drops with each read.
func watchSocketDrops(*net.UDPConn) bool { return false }

const socketDropsOOB = 0

func socketDrops([]byte) (uint32, bool) { return 0, false }

// setSocketBuffer asks for a receive buffer of n bytes (the kernel may
// grant less); the size granted is not read here (0).
func setSocketBuffer(c *net.UDPConn, n int) int {
	_ = c.SetReadBuffer(n)
	return 0
}
