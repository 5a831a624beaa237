package secrets

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Limits on secrets.
const (
	MaxValueBytes = 48 << 10
	MaxPerOwner   = 200
	// MinMaskBytes: shorter values are injected but cannot be masked in
	// output (they would match ordinary text).
	MinMaskBytes = 6
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// reserved are the variables the platform sets in every sandboxed process;
// a secret may not shadow them.
var reserved = map[string]bool{
	"PORT": true, "DATABASE_URL": true, "DATABASE_PATH": true, "HOME": true, "PATH": true, "USER": true,
	"SHELL": true, "TERM": true, "COLORTERM": true, "FORCE_COLOR": true, "PWD": true, "HOSTNAME": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "http_proxy": true, "https_proxy": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true, "PGHOST": true, "PGPORT": true, "PGUSER": true, "PGPASSWORD": true, "PGDATABASE": true,
	"GOCACHE": true, "GOPATH": true, "GOTOOLCHAIN": true, "GOFLAGS": true, "npm_config_cache": true,
	"npm_config_update_notifier": true, "PYTHONDONTWRITEBYTECODE": true, "HISTFILE": true,
	"LD_PRELOAD": true, "LD_LIBRARY_PATH": true, "TMPDIR": true, "LANG": true, "LC_ALL": true,
}

// NameError says why a name or value is refused; the message is for the user.
type NameError struct{ Msg string }

func (e *NameError) Error() string { return e.Msg }

// CheckName validates a secret's name.
func CheckName(name string) error {
	switch {
	case !nameRE.MatchString(name):
		return &NameError{fmt.Sprintf("%q is not a valid name: use letters, digits and _, not starting with a digit (at most 128)", name)}
	case reserved[name]:
		return &NameError{fmt.Sprintf("%s is set by E-Code in every process (%s); a secret cannot replace it", name, reservedWhy(name))}
	case strings.HasPrefix(strings.ToUpper(name), "ECODE_"):
		return &NameError{"names starting with ECODE_ are reserved for E-Code"}
	}
	return nil
}

func reservedWhy(name string) string {
	switch {
	case name == "PORT":
		return "the port your app listens on"
	case strings.HasPrefix(name, "DATABASE_"):
		return "your project's database"
	case strings.Contains(strings.ToLower(name), "proxy"):
		return "the sandbox's way out to the network"
	}
	return "the sandbox's environment"
}

// IsReserved reports whether the platform owns the variable name.
func IsReserved(name string) bool {
	return reserved[name] || strings.HasPrefix(strings.ToUpper(name), "ECODE_")
}

// CheckValue validates a secret's value.
func CheckValue(v string) error {
	switch {
	case v == "":
		return &NameError{"the value is empty"}
	case len(v) > MaxValueBytes:
		return &NameError{fmt.Sprintf("the value has %d bytes; at most %d", len(v), MaxValueBytes)}
	case strings.IndexByte(v, 0) >= 0:
		return &NameError{"the value contains a NUL byte, which an environment variable cannot hold"}
	}
	return nil
}

// EnvPair is one NAME=value of a .env block.
type EnvPair struct {
	Name, Value string
	Line        int
}

// ParseDotenv reads a .env block: NAME=value lines, optional "export ",
// # comments, values in single quotes (literal) or double quotes (\n, \",
// \\ escapes, may span lines); unquoted values end at " #". Errors name
// the line.
func ParseDotenv(text string) ([]EnvPair, error) {
	var out []EnvPair
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lineNo := i + 1
		line = strings.TrimPrefix(line, "export ")
		name, rest, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || !nameRE.MatchString(name) {
			return nil, fmt.Errorf("line %d: expected NAME=value", lineNo)
		}
		rest = strings.TrimLeft(rest, " \t")
		var value string
		switch {
		case strings.HasPrefix(rest, `"`):
			body := rest[1:]
			for !closedQuote(body) {
				if i+1 >= len(lines) {
					return nil, fmt.Errorf("line %d: unterminated double quote", lineNo)
				}
				i++
				body += "\n" + lines[i]
			}
			end := closingQuote(body)
			v, err := strconv.Unquote(`"` + strings.ReplaceAll(body[:end], "\n", `\n`) + `"`)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad escape in double-quoted value", lineNo)
			}
			value = v
		case strings.HasPrefix(rest, "'"):
			end := strings.IndexByte(rest[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated single quote", lineNo)
			}
			value = rest[1 : 1+end]
		default:
			if j := strings.Index(rest, " #"); j >= 0 {
				rest = rest[:j]
			}
			value = strings.TrimSpace(rest)
		}
		out = append(out, EnvPair{Name: name, Value: value, Line: lineNo})
	}
	return out, nil
}

// closingQuote is the index of the first unescaped " in s, or -1.
func closingQuote(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func closedQuote(s string) bool { return closingQuote(s) >= 0 }
