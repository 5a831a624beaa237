package secrets

import "encoding/base64"

func b64(enc, s string) string {
	if enc == "url" {
		return base64.URLEncoding.EncodeToString([]byte(s))
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}
