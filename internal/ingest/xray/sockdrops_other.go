//go:build !linux

package xray

import "net"

// watchSocketDrops: only Linux reports a socket's drops with each read.
func watchSocketDrops(*net.UDPConn) bool { return false }

const socketDropsOOB = 0

func socketDrops([]byte) (uint32, bool) { return 0, false }
