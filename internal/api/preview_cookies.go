package api

import (
	"net/http"
	"strings"
)

// ideCookies are the names an app on a preview origin may not set: with a
// Domain attribute (stripped anyway) they would reach the IDE's origin.
var ideCookies = map[string]bool{sessionCookie: true, previewCookie: true}

// sanitizeAppCookies rewrites the app's Set-Cookie headers so its cookies
// stay on the preview origin: Domain attributes are removed (host-only
// cookies), and cookies named like the IDE's are dropped.
func sanitizeAppCookies(h http.Header) {
	lines := h.Values("Set-Cookie")
	if len(lines) == 0 {
		return
	}
	h.Del("Set-Cookie")
	for _, line := range lines {
		parts := strings.Split(line, ";")
		name, _, _ := strings.Cut(parts[0], "=")
		name = strings.TrimSpace(name)
		if name == "" || ideCookies[name] || ideCookies[strings.TrimPrefix(strings.TrimPrefix(name, "__Host-"), "__Secure-")] {
			continue
		}
		kept := parts[:1]
		for _, attr := range parts[1:] {
			key, _, _ := strings.Cut(attr, "=")
			if !strings.EqualFold(strings.TrimSpace(key), "domain") {
				kept = append(kept, attr)
			}
		}
		h.Add("Set-Cookie", strings.Join(kept, ";"))
	}
}
