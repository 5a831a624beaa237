package figma

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var keyRE = regexp.MustCompile(`^[A-Za-z0-9]{10,128}$`)

// FileKey finds the file key in a Figma URL (figma.com/file/KEY/...,
// /design/KEY/..., /proto/KEY/...; a branch's key when the URL names one).
func FileKey(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if keyRE.MatchString(raw) {
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", problem("%q is not a Figma file URL: give an address such as https://www.figma.com/design/KEY/Name", raw)
	}
	host := strings.ToLower(u.Hostname())
	if host != "figma.com" && !strings.HasSuffix(host, ".figma.com") {
		return "", problem("%s is not a Figma address: give the file's URL from figma.com (Share → Copy link)", host)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		switch parts[i] {
		case "file", "design", "proto":
			key := parts[i+1]
			if i+3 < len(parts) && parts[i+2] == "branch" && keyRE.MatchString(parts[i+3]) {
				key = parts[i+3]
			}
			if keyRE.MatchString(key) {
				return key, nil
			}
		case "board":
			return "", problem("this is a FigJam board: only Figma design files can be imported")
		}
	}
	return "", problem("the URL has no Figma file key: give the file's address, figma.com/design/KEY/... or figma.com/file/KEY/...")
}

// Client speaks to the Figma REST API with a personal access token.
type Client struct {
	BaseURL string       // e.g. https://api.figma.com
	Token   string       // sent as X-Figma-Token; never in errors or logs
	HTTP    *http.Client // for the API
	// Download fetches the renders, whose signed URLs point outside the API
	// (the caller's client can refuse private addresses); nil: HTTP.
	Download *http.Client
	// CheckURL, when set, vets render URLs before they are fetched.
	CheckURL func(ctx context.Context, raw string) error
	// OnWait is told when a rate limit makes the client wait until a time.
	OnWait func(until time.Time)
	// Sleep waits d or until ctx ends (tests pass a fake clock's).
	Sleep    func(ctx context.Context, d time.Duration) error
	Now      func() time.Time
	MaxBytes int64         // a document's limit (0: 256 MiB)
	MaxWait  time.Duration // longest rate-limit wait accepted (0: 5 minutes)
	Retries  int           // 429 retries (0: 6)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// get fetches an API path, waiting out 429s, and returns the open body of
// a 200 answer.
func (c *Client) get(ctx context.Context, p, what string) (io.ReadCloser, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	retries, maxWait := c.Retries, c.MaxWait
	if retries <= 0 {
		retries = 6
	}
	if maxWait <= 0 {
		maxWait = 5 * time.Minute
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(c.BaseURL, "/")+p, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Figma-Token", c.Token)
		res, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, problem("Figma's API could not be reached (%s)", redact(err.Error(), c.Token))
		}
		if res.StatusCode == http.StatusOK {
			return res.Body, nil
		}
		msg := apiMessage(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests {
			return nil, statusProblem(res.StatusCode, what, redact(msg, c.Token))
		}
		d := retryAfter(res.Header.Get("Retry-After"), c.now(), attempt)
		if d > maxWait {
			return nil, problem("Figma's rate limit allows the next request only in %s: try again then, or upload the file's JSON (Figma's plans limit file reads per month)", d.Round(time.Second))
		}
		if attempt >= retries {
			return nil, problem("Figma kept answering \"too many requests\" (%d tries): try again later, or upload the file's JSON", attempt+1)
		}
		if c.OnWait != nil {
			c.OnWait(c.now().Add(d))
		}
		if err := c.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// retryAfter reads Retry-After (seconds or a date); without one it backs
// off exponentially from one second.
func retryAfter(h string, now time.Time, attempt int) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return time.Second << min(attempt, 6)
}

func apiMessage(r io.Reader) string {
	var e struct {
		Err     string `json:"err"`
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	if json.Unmarshal(b, &e) == nil {
		if e.Message != "" {
			return e.Message
		}
		return e.Err
	}
	return ""
}

func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

func statusProblem(code int, what, msg string) error {
	detail := ""
	if msg != "" {
		detail = " (Figma says: " + msg + ")"
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return problem("Figma refused the access token (HTTP %d)%s: check that the personal access token is right and not expired, has the file_content:read scope, and that its account can open this file", code, detail)
	case code == http.StatusNotFound:
		return problem("Figma has no %s%s: check the file's URL, and that the token's account can see the file", what, detail)
	case code == http.StatusBadRequest:
		return problem("Figma refused the request for %s (HTTP 400)%s", what, detail)
	}
	return problem("Figma answered HTTP %d for %s%s: try again later", code, what, detail)
}

// File fetches and parses GET /v1/files/:key.
func (c *Client) File(ctx context.Context, key string) (*File, error) {
	body, err := c.get(ctx, "/v1/files/"+url.PathEscape(key), "file with the key "+key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return Parse(body, c.MaxBytes)
}

// Renderer renders nodes of file key through GET /v1/images (batches of 50)
// and downloads each render.
func (c *Client) Renderer(key string) Renderer {
	return func(ctx context.Context, ids []string, format string) (map[string][]byte, error) {
		out := map[string][]byte{}
		for start := 0; start < len(ids); start += 50 {
			batch := ids[start:min(start+50, len(ids))]
			q := url.Values{"ids": {strings.Join(batch, ",")}, "format": {format}, "scale": {"1"}}
			body, err := c.get(ctx, "/v1/images/"+url.PathEscape(key)+"?"+q.Encode(), "render of the file's images")
			if err != nil {
				return nil, err
			}
			var ans struct {
				Err    *string            `json:"err"`
				Images map[string]*string `json:"images"`
			}
			err = json.NewDecoder(io.LimitReader(body, 8<<20)).Decode(&ans)
			body.Close()
			if err != nil {
				return nil, problem("Figma's images answer could not be read (%v)", err)
			}
			for _, id := range batch {
				u := ans.Images[id]
				if u == nil || *u == "" {
					continue
				}
				b, err := c.download(ctx, *u)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					continue // left as a placeholder, said in the notes
				}
				out[id] = b
			}
		}
		return out, nil
	}
}

const maxImageBytes = 32 << 20

func (c *Client) download(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("not an http(s) URL")
	}
	if c.CheckURL != nil {
		if err := c.CheckURL(ctx, raw); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, "GET", raw, nil)
	if err != nil {
		return nil, err
	}
	hc := c.Download
	if hc == nil {
		hc = c.HTTP
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req) // no token: the render URLs are signed
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxImageBytes+1))
	if err == nil && len(b) > maxImageBytes {
		err = errors.New("render too large")
	}
	return b, err
}
