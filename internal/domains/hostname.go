package domains

import (
	"net"
	"strings"
)

// NameError is a host name refused as a custom domain; Msg says why.
type NameError struct{ Msg string }

func (e *NameError) Error() string { return e.Msg }

// maxNameLen is the longest host name DNS carries (without the root dot).
const maxNameLen = 253

// Normalize checks that s is a host name a project can claim and returns
// its canonical form: lower case, without a trailing dot. The name must be
// ASCII (internationalized names in their xn-- form), have at least two
// labels of letters, digits and inner hyphens (1–63 characters each, 253 in
// all), a top-level label that is not all digits, and be neither an IP
// address nor a wildcard nor under localhost.
func Normalize(s string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	name = strings.TrimSuffix(name, ".")
	switch {
	case name == "":
		return "", &NameError{"enter a domain name such as app.example.com"}
	case strings.Contains(name, "://") || strings.ContainsAny(name, "/:?#@"):
		return "", &NameError{"enter only the host name (app.example.com), without a scheme, port or path"}
	case strings.HasPrefix(name, "*."):
		return "", &NameError{"wildcard domains are not supported: add each host name"}
	case net.ParseIP(strings.Trim(name, "[]")) != nil:
		return "", &NameError{"an IP address is not a domain name"}
	case len(name) > maxNameLen:
		return "", &NameError{"the domain name is longer than 253 characters"}
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "", &NameError{"enter a full domain name such as app.example.com"}
	}
	for _, l := range labels {
		if msg := checkLabel(l); msg != "" {
			return "", &NameError{msg}
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "", &NameError{"the last part of a domain name cannot be a number"}
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return "", &NameError{"localhost names cannot be claimed"}
	}
	return name, nil
}

// checkLabel returns why l is not a DNS label of a host name, or "".
func checkLabel(l string) string {
	switch {
	case l == "":
		return "the domain name has an empty part (two dots in a row, or a leading dot)"
	case len(l) > 63:
		return "each part of a domain name is at most 63 characters"
	case l[0] == '-' || l[len(l)-1] == '-':
		return "a part of a domain name cannot begin or end with a hyphen"
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			if c >= 0x80 {
				return "write an internationalized domain name in its xn-- (punycode) form"
			}
			return "a domain name holds only letters, digits, hyphens and dots"
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// hostName is the name in a Host header or a TLS server name: without
// port, lower case, without a trailing dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// under reports whether name is base or a subdomain of it.
func under(name, base string) bool {
	return base != "" && (name == base || strings.HasSuffix(name, "."+base))
}
