package api

import (
	"ecode/internal/live"

	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

const (
	previewCookie     = "ecode_preview"
	previewPrefix     = "p-"
	previewTokenLife  = time.Minute
	previewCookieLife = 12 * time.Hour
)

// previewProject returns the project id of a preview host name
// ("p-<id>.<preview domain>[:port]").
func (s *Server) previewProject(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	sub, ok := strings.CutSuffix(strings.ToLower(host), "."+s.opts.PreviewDomain)
	if !ok {
		return "", false
	}
	id, ok := strings.CutPrefix(sub, previewPrefix)
	return id, ok && id != "" && !strings.Contains(id, ".")
}

// previewOrigin is the preview origin of a project, on the port the request came in on.
func (s *Server) previewOrigin(r *http.Request, projectID string) string {
	scheme := "http"
	if s.opts.SecureCookies {
		scheme = "https"
	}
	host := previewPrefix + projectID + "." + s.opts.PreviewDomain
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host
}

// previewKey is the key that signs preview tokens, shared by every node.
func (s *Server) previewKey(ctx context.Context) ([]byte, error) {
	v, err := s.store.SettingOrInit(ctx, "preview_key", func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b)
	})
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}

// signPreview makes a token for projectID and userID valid until exp.
func (s *Server) signPreview(ctx context.Context, kind, projectID, userID string, exp time.Time) (string, error) {
	key, err := s.previewKey(ctx)
	if err != nil {
		return "", err
	}
	payload := strings.Join([]string{kind, projectID, userID, strconv.FormatInt(exp.Unix(), 10)}, "|")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(payload))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// verifyPreview checks a token of the given kind for projectID and returns its user.
func (s *Server) verifyPreview(ctx context.Context, token, kind, projectID string) (string, error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	payload, err1 := enc.DecodeString(p64)
	sum, err2 := enc.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil {
		return "", errors.New("malformed preview token")
	}
	key, err := s.previewKey(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return "", errors.New("bad preview token signature")
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 4 || parts[0] != kind || parts[1] != projectID {
		return "", errors.New("preview token is for something else")
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return "", errors.New("preview token expired")
	}
	return parts[2], nil
}

// previewSession gives the IDE a short-lived URL that signs the browser in
// to the project's preview origin.
func (s *Server) previewSession(w http.ResponseWriter, r *http.Request) error {
	p := project(r)
	token, err := s.signPreview(r.Context(), "auth", p.ID, principal(r).User.ID, s.now().Add(previewTokenLife))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": s.previewOrigin(r, p.ID) + "/__ecode/auth?token=" + token})
	return nil
}

// previewHandler serves a project's preview origin: the auth exchange, then
// a reverse proxy into the sandbox for members of the project.
func (s *Server) previewHandler() func(w http.ResponseWriter, r *http.Request, projectID string) {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			port := pr.In.Context().Value(keyPreviewPort).(int)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "localhost:" + strconv.Itoa(port)
			pr.Out.Host = "localhost"
			pr.SetXForwarded()
			removeCookie(pr.Out, previewCookie)
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				id, _ := ctx.Value(keyPreviewProject).(string)
				port, _ := ctx.Value(keyPreviewPort).(int)
				return s.runner.Dial(ctx, id, port)
			},
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		ModifyResponse: func(resp *http.Response) error {
			sanitizeAppCookies(resp.Header)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, previewWaitingPage)
		},
	}
	return func(w http.ResponseWriter, r *http.Request, projectID string) {
		if r.URL.Path == "/__ecode/auth" {
			s.previewAuth(w, r, projectID)
			return
		}
		c, err := r.Cookie(previewCookie)
		userID := ""
		if err == nil {
			userID, err = s.verifyPreview(r.Context(), c.Value, "cookie", projectID)
		}
		if err == nil {
			_, err = s.store.ProjectForMember(r.Context(), projectID, userID)
		}
		if err != nil {
			http.Error(w, "Not found. Open the preview from the project's page in E-Code.", http.StatusNotFound)
			return
		}
		// Tracked, so a removed member's open upgrades (HMR) end too.
		ctx, done := s.live.Track(r.Context(), live.Key{ProjectID: projectID, UserID: userID})
		defer done()
		r = r.WithContext(ctx)
		if s.cluster == nil {
			s.proxyPreview(w, r, proxy, projectID)
			return
		}
		// The app runs on the project's owner node.
		err = s.serveAtOwner(w, r, projectID, func(w http.ResponseWriter, r *http.Request) error {
			s.proxyPreview(w, r, proxy, projectID)
			return nil
		})
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

// proxyPreview proxies a preview request into the project's sandbox on
// this node, or answers with the waiting page while the app does not listen.
func (s *Server) proxyPreview(w http.ResponseWriter, r *http.Request, proxy *httputil.ReverseProxy, projectID string) {
	st := s.runner.RunState(projectID)
	if st.Port == 0 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, previewWaitingPage)
		return
	}
	ctx := context.WithValue(r.Context(), keyPreviewProject, projectID)
	ctx = context.WithValue(ctx, keyPreviewPort, st.Port)
	proxy.ServeHTTP(w, r.WithContext(ctx))
}

const (
	keyPreviewProject ctxKey = 100 + iota
	keyPreviewPort
)

// previewAuth exchanges a one-minute token from the IDE for a cookie on the
// preview origin, then sends the browser to the app.
func (s *Server) previewAuth(w http.ResponseWriter, r *http.Request, projectID string) {
	userID, err := s.verifyPreview(r.Context(), r.URL.Query().Get("token"), "auth", projectID)
	if err != nil {
		http.Error(w, "This preview link has expired. Open the preview again from E-Code.", http.StatusForbidden)
		return
	}
	cookie, err := s.signPreview(r.Context(), "cookie", projectID, userID, s.now().Add(previewCookieLife))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The preview is usually framed by the IDE, another site: a partitioned
	// SameSite=None cookie works there even where third-party cookies are
	// blocked. Browsers accept Secure cookies from http://*.localhost.
	http.SetCookie(w, &http.Cookie{Name: previewCookie, Value: cookie, Path: "/", HttpOnly: true,
		Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true, MaxAge: int(previewCookieLife.Seconds())})
	http.Redirect(w, r, "/", http.StatusFound)
}

func removeCookie(r *http.Request, name string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}

const previewWaitingPage = `<!doctype html><meta charset="utf-8"><title>Waiting for the app</title>
<body style="font-family:system-ui,sans-serif;color:#555;display:grid;place-items:center;height:90vh">
<p>Nothing is listening yet. Press Run in E-Code; this page reloads by itself.</p>
<script>setTimeout(function(){location.reload()},1500)</script></body>`
