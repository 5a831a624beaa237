package imports

import (
	"net/url"
	"path"
	"strings"
)

func defaultName(r *Request) string {
	if r.URL != "" {
		if u, err := url.Parse(r.URL); err == nil {
			p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
			if r.Source == SourceFigma {
				parts := strings.Split(strings.Trim(u.Path, "/"), "/")
				if len(parts) >= 3 {
					return parts[2]
				}
				return "Figma import"
			}
			if b := path.Base(p); b != "." && b != "/" && b != "" {
				return b
			}
		}
	}
	return map[string]string{SourceZip: "Imported project", SourceBolt: "Bolt project", SourceLovable: "Lovable project",
		SourceFigma: "Figma design", SourceGit: "Imported repository"}[r.Source]
}
