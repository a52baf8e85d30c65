package stats

import (
	"net/netip"
	"strings"
)

// Peer tag values name hosts; an IP address among them would give every
// client its own stats group. The Agent therefore replaces each IP address
// of a (comma-separated) peer tag value with "blocked-ip-address", keeping
// a port, a scheme or "ip-" prefix and whatever follows the address, and
// drops entries that become duplicates (obfuscate.QuantizePeerIPAddresses).
// This file does the same into a caller's buffer, without allocating.

const blockedIP = "blocked-ip-address"

// appendQuantizedPeer appends the quantized form of raw to dst.
func appendQuantizedPeer(dst []byte, raw string) []byte {
	if !mayQuantize(raw) {
		return append(dst, raw...)
	}
	return quantizePeer(dst, raw)
}

// quantizePeer is appendQuantizedPeer for a raw value that mayQuantize.
func quantizePeer(dst []byte, raw string) []byte {
	start := len(dst)
	first := true
	for {
		elem, rest, more := strings.Cut(raw, ",")
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		dst = appendQuantizedIP(dst, elem)
		if !first && seenBefore(dst[start:mark], dst[mark+1:]) {
			dst = dst[:mark]
		}
		first = false
		if !more {
			return dst
		}
		raw = rest
	}
}

// mayQuantize reports whether quantizing raw may change it. Without a
// comma there is nothing to deduplicate; without a colon there is no port,
// scheme or IPv6 address, so only an IPv4 address at the start (after an
// optional "ip-") is replaced, and it starts with a digit.
func mayQuantize(raw string) bool {
	// One pass: peer values are short, and the common ones have neither.
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == ',' || c == ':' {
			return true
		}
	}
	rest := strings.TrimPrefix(raw, "ip-")
	return rest != "" && '0' <= rest[0] && rest[0] <= '9'
}

// seenBefore reports whether e is one of the comma-separated entries of
// list.
func seenBefore(list, e []byte) bool {
	for {
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		if string(list[:i]) == string(e) {
			return true
		}
		if i == len(list) {
			return false
		}
		list = list[i+1:]
	}
}

// appendQuantizedIP appends raw with its IP address, if it is one (with an
// optional port and prefix), replaced.
func appendQuantizedIP(dst []byte, raw string) []byte {
	if port, ok := plainIPv4(raw); ok {
		dst = append(dst, blockedIP...)
		if port != "" {
			dst = append(dst, ':')
			dst = append(dst, port...)
		}
		return dst
	}
	prefix, rest := splitSchemePrefix(raw)
	host, port, suffix := splitIPAndPort(rest)
	if host == "" || allowedIP(host) {
		return append(dst, raw...)
	}
	dst = append(dst, prefix...)
	dst = append(dst, blockedIP...)
	if port != "" {
		dst = append(dst, ':')
		dst = append(dst, port...)
	}
	return append(dst, suffix...)
}

// plainIPv4 recognizes the common case at once: raw is a dotted IPv4
// address, not one of the allowed ones, alone or followed by ":port" (a
// port without colon or bracket). The general path gives the same result
// for it: blocked-ip-address and the port.
func plainIPv4(raw string) (port string, ok bool) {
	host := raw
	if i := strings.IndexByte(raw, ':'); i >= 0 {
		host, port = raw[:i], raw[i+1:]
		if strings.IndexByte(port, ':') >= 0 || strings.IndexByte(port, '[') >= 0 || strings.IndexByte(port, ']') >= 0 {
			return "", false
		}
	}
	if ipv4PrefixLen(host, '.') != len(host) || len(host) == 0 || allowedIP(host) {
		return "", false
	}
	return port, true
}

// allowedIP lists the addresses the Agent leaves as they are: loopback and
// the cloud metadata and ECS task metadata endpoints.
func allowedIP(host string) bool {
	switch host {
	case "127.0.0.1", "::1", "169.254.169.254", "fd00:ec2::254", "169.254.170.2":
		return true
	}
	return false
}

// splitSchemePrefix splits off an "ip-" prefix (EC2 host names), or the
// first "<scheme>:///" or "<scheme>://" of the schemes the Agent knows,
// wherever it is in raw (what precedes it is dropped with it, as in the
// Agent). Without one, prefix is empty.
func splitSchemePrefix(raw string) (prefix, rest string) {
	if r, ok := strings.CutPrefix(raw, "ip-"); ok {
		return "ip-", r
	}
	if !strings.Contains(raw, "://") {
		return "", raw // both forms contain it: the common case, decided at once
	}
	for _, scheme := range [...]string{"dnspoll", "ftp", "file", "http", "https"} {
		i := strings.Index(raw, scheme)
		if i < 0 {
			continue
		}
		after := i + len(scheme)
		if end := after + 4; end < len(raw) && raw[after:end] == ":///" {
			return raw[i:end], raw[end:]
		}
		if end := after + 3; end < len(raw) && raw[after:end] == "://" {
			return raw[i:end], raw[end:]
		}
	}
	return "", raw
}

// splitIPAndPort returns the IP address s starts with (after an optional
// [host]:port form), its port and what follows the address; host is empty
// when s does not start with an IP address.
func splitIPAndPort(s string) (host, port, suffix string) {
	h, p, ok := splitHostPort(s)
	if !ok {
		h, p = s, ""
	}
	if n := ipPrefixLen(h); n > 0 {
		return h[:n], p, h[n:]
	}
	return "", "", ""
}

// splitHostPort is net.SplitHostPort without its errors: "host:port",
// "[host]:port" (the last colon starts the port).
func splitHostPort(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	lo, hi := 0, 0 // no '[' before lo, no ']' before hi in what follows
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || end+1 != i {
			return "", "", false
		}
		host, lo, hi = s[1:end], 1, end+1
	} else {
		host = s[:i]
		if strings.IndexByte(host, ':') >= 0 {
			return "", "", false
		}
	}
	if strings.IndexByte(s[lo:], '[') >= 0 || strings.IndexByte(s[hi:], ']') >= 0 {
		return "", "", false
	}
	return host, s[i+1:], true
}

// ipPrefixLen returns the length of the IP address s starts with, 0 when
// none: an IPv4 address whose separator ('.', '_' or '-', the first of them
// in s) may be followed by more text, or an IPv6 address that is all of s.
func ipPrefixLen(s string) int {
	if s == "" || !(isHex(s[0]) || s[0] == ':') {
		return 0
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.', '_', '-':
			return ipv4PrefixLen(s, s[i])
		case ':':
			if _, err := netip.ParseAddr(s); err == nil {
				return len(s)
			}
			return 0
		case '%':
			return 0
		}
	}
	return 0
}

// ipv4PrefixLen returns the length of the IPv4 address with separator sep
// that s starts with (four decimal octets up to 255, without leading
// zeros), 0 when none. Text may follow the fourth octet, after a
// separator or any other non-digit.
func ipv4PrefixLen(s string, sep byte) int {
	octets, val, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if digits == 1 && val == 0 {
				return 0 // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return 0
			}
		case c == sep:
			if i == 0 || i == len(s)-1 || s[i-1] == sep {
				return 0
			}
			if octets == 3 {
				return i
			}
			octets++
			val, digits = 0, 0
		default:
			if octets == 3 && digits > 0 {
				return i
			}
			return 0
		}
	}
	if octets < 3 {
		return 0
	}
	return len(s)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
