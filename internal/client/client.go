// Package client is a small typed Go client for the E-Code HTTP API, used
// by the tests, the benchmarks and tools.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"ecode/internal/api"
	"ecode/internal/workspace"
)

// Client talks to one server as one caller (a cookie jar for sessions, or
// a bearer token).
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client with its own cookie jar.
func New(baseURL string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Jar: jar}}
}

// Error is an error answer from the server.
type Error struct {
	Status  int
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s %v", e.Status, e.Code, e.Message, e.Fields)
}

// Do sends a request and decodes a JSON answer into out (if not nil). A
// non-2xx answer becomes *Error.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	resp, err := c.Raw(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b, err = io.ReadAll(resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Raw sends a request and returns the response; a non-2xx answer becomes
// *Error (and the body is closed).
func (c *Client) Raw(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var env struct{ Error Error }
		json.NewDecoder(resp.Body).Decode(&env)
		env.Error.Status = resp.StatusCode
		return nil, &env.Error
	}
	return resp, nil
}

func (c *Client) json(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.Do(ctx, method, path, body, "application/json", out)
}

// Signup creates an account and signs this client in.
func (c *Client) Signup(ctx context.Context, email, password, name string) (api.User, error) {
	var u api.User
	err := c.json(ctx, "POST", "/api/auth/signup", map[string]string{"email": email, "password": password, "name": name}, &u)
	return u, err
}

// Login signs this client in.
func (c *Client) Login(ctx context.Context, email, password string) (api.User, error) {
	var u api.User
	err := c.json(ctx, "POST", "/api/auth/login", map[string]string{"email": email, "password": password}, &u)
	return u, err
}

// Logout signs this client out.
func (c *Client) Logout(ctx context.Context) error {
	return c.json(ctx, "POST", "/api/auth/logout", nil, nil)
}

// Me returns the signed-in user.
func (c *Client) Me(ctx context.Context) (api.User, error) {
	var u api.User
	err := c.json(ctx, "GET", "/api/me", nil, &u)
	return u, err
}

// CreatedToken is a new personal access token.
type CreatedToken struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// CreateToken makes a personal access token.
func (c *Client) CreateToken(ctx context.Context, name string) (CreatedToken, error) {
	var t CreatedToken
	err := c.json(ctx, "POST", "/api/tokens", map[string]string{"name": name}, &t)
	return t, err
}

// CreateProject creates a project from a template ("" for blank).
func (c *Client) CreateProject(ctx context.Context, name, template string) (api.Project, error) {
	var p api.Project
	err := c.json(ctx, "POST", "/api/projects", map[string]string{"name": name, "template": template}, &p)
	return p, err
}

// Projects lists the caller's projects.
func (c *Client) Projects(ctx context.Context) ([]api.Project, error) {
	var ps []api.Project
	err := c.json(ctx, "GET", "/api/projects", nil, &ps)
	return ps, err
}

// Project returns one project.
func (c *Client) Project(ctx context.Context, id string) (api.Project, error) {
	var p api.Project
	err := c.json(ctx, "GET", "/api/projects/"+id, nil, &p)
	return p, err
}

// AddMember invites an existing account to a project.
func (c *Client) AddMember(ctx context.Context, projectID, email, role string) (api.Member, error) {
	var m api.Member
	err := c.json(ctx, "POST", "/api/projects/"+projectID+"/members", map[string]string{"email": email, "role": role}, &m)
	return m, err
}

// Tree returns a project's file tree.
func (c *Client) Tree(ctx context.Context, projectID string) (workspace.Entry, error) {
	var e workspace.Entry
	err := c.json(ctx, "GET", "/api/projects/"+projectID+"/files", nil, &e)
	return e, err
}

// ReadFile returns a file's bytes.
func (c *Client) ReadFile(ctx context.Context, projectID, path string) ([]byte, error) {
	var b []byte
	err := c.Do(ctx, "GET", "/api/projects/"+projectID+"/files/"+escapePath(path), nil, "", &b)
	return b, err
}

// WriteFile replaces a file's bytes.
func (c *Client) WriteFile(ctx context.Context, projectID, path string, data []byte) error {
	return c.Do(ctx, "PUT", "/api/projects/"+projectID+"/files/"+escapePath(path), bytes.NewReader(data), "application/octet-stream", nil)
}

// DeleteFile removes a file or folder.
func (c *Client) DeleteFile(ctx context.Context, projectID, path string) error {
	return c.Do(ctx, "DELETE", "/api/projects/"+projectID+"/files/"+escapePath(path), nil, "", nil)
}

// Move renames a file or folder.
func (c *Client) Move(ctx context.Context, projectID, from, to string) error {
	return c.json(ctx, "POST", "/api/projects/"+projectID+"/move", map[string]string{"from": from, "to": to}, nil)
}

// Mkdir creates a folder.
func (c *Client) Mkdir(ctx context.Context, projectID, path string) error {
	return c.json(ctx, "POST", "/api/projects/"+projectID+"/mkdir", map[string]string{"path": path}, nil)
}

// Upload sends files (path → bytes) into dir.
func (c *Client) Upload(ctx context.Context, projectID, dir string, files map[string][]byte) error {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if dir != "" {
		mw.WriteField("dir", dir)
	}
	for name, data := range files {
		w, err := mw.CreateFormFile("files", name)
		if err != nil {
			return err
		}
		w.Write(data)
	}
	mw.Close()
	return c.Do(ctx, "POST", "/api/projects/"+projectID+"/upload", &buf, mw.FormDataContentType(), nil)
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
