package config

import (
	"net/netip"
	"strings"
)

// IsLoopbackHost reports whether host (a URL's Hostname) is localhost or a loopback
// address (127.0.0.0/8, ::1, or an IPv4-mapped loopback address), the only hosts on
// which the providers accept plain http URLs.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
