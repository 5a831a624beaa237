package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"ecode/internal/client"
)

const importUsage = `usage: ecode import SOURCE [flags]
  SOURCE is a Git repository URL, a zip file, a Figma file URL, or a Figma
  file's JSON (as GET /v1/files/:key returns it). The import runs on the
  server; its progress is printed until it ends with the new project.
  The server and token come from --server and --token or ECODE_SERVER and
  ECODE_TOKEN (make one with ecode token create).
  -name NAME           the project's name
  -source KIND         git, zip, bolt, lovable or figma (default: guessed)
  -ref REF             a Git branch, tag or commit
  -git-token TOKEN     a Git access token for a private repository
  -figma-token TOKEN   a Figma personal access token (or FIGMA_TOKEN)`

// importSpec is what ecode import sends.
type importSpec struct {
	source, url, name, ref, token string
	file                          string // a local file to upload
}

// guessImport decides the source of arg: a local .json is a Figma file's
// JSON, another local file a zip; a figma.com URL is Figma, any other URL
// a Git repository.
func guessImport(arg, source string) (importSpec, error) {
	s := importSpec{source: source}
	if info, err := os.Stat(arg); err == nil && !info.IsDir() {
		s.file = arg
		if s.source == "" {
			s.source = "zip"
			if strings.EqualFold(filepath.Ext(arg), ".json") {
				s.source = "figma"
			}
		}
		return s, nil
	}
	u, err := url.Parse(arg)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return s, fmt.Errorf("%q is neither a file nor an http(s) URL", arg)
	}
	s.url = arg
	if s.source == "" {
		s.source = "git"
		if h := strings.ToLower(u.Hostname()); h == "figma.com" || strings.HasSuffix(h, ".figma.com") {
			s.source = "figma"
		}
	}
	return s, nil
}

// importCommand is ecode import: a project from a source, through the API.
func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(importUsage)
	}
	fs := flag.NewFlagSet("ecode import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", getenv("ECODE_SERVER"), "the E-Code server's URL")
	token := fs.String("token", getenv("ECODE_TOKEN"), "a personal access token")
	name := fs.String("name", "", "the project's name")
	source := fs.String("source", "", "git, zip, bolt, lovable or figma")
	ref := fs.String("ref", "", "a Git branch, tag or commit")
	gitToken := fs.String("git-token", "", "a Git access token")
	figmaToken := fs.String("figma-token", getenv("FIGMA_TOKEN"), "a Figma personal access token")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, importUsage)
	}
	if *server == "" || *token == "" {
		return errors.New("ecode import: --server and --token (or ECODE_SERVER and ECODE_TOKEN) are required")
	}
	spec, err := guessImport(args[0], *source)
	if err != nil {
		return fmt.Errorf("ecode import: %w", err)
	}
	spec.name, spec.ref, spec.token = *name, *ref, *gitToken
	if spec.source == "figma" {
		spec.token = *figmaToken
		if spec.file == "" && spec.token == "" {
			return errors.New("ecode import: a Figma URL needs --figma-token (or FIGMA_TOKEN), a personal access token; or give the file's JSON")
		}
	}
	c := client.New(strings.TrimSuffix(*server, "/"))
	c.Token = *token
	id, err := startImportCLI(ctx, c, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import %s started\n", id)
	x, err := followImport(ctx, c, id, stdout)
	if err != nil {
		return err
	}
	if x.Status != "succeeded" {
		return fmt.Errorf("import %s %s: %s", id, x.Status, x.Error)
	}
	fmt.Fprintf(stdout, "project %s: %s/p/%s\n", x.ProjectID, strings.TrimSuffix(*server, "/"), url.PathEscape(x.ProjectID))
	for _, n := range x.Report.NotCarried {
		fmt.Fprintln(stdout, "not carried:", n)
	}
	return nil
}

func startImportCLI(ctx context.Context, c *client.Client, s importSpec) (string, error) {
	var out struct{ ID string }
	if s.file == "" {
		b, _ := json.Marshal(map[string]string{"source": s.source, "url": s.url, "token": s.token, "ref": s.ref, "name": s.name})
		err := c.Do(ctx, "POST", "/api/imports", strings.NewReader(string(b)), "application/json", &out)
		return out.ID, err
	}
	f, err := os.Open(s.file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("source", s.source)
		if s.name != "" {
			mw.WriteField("name", s.name)
		}
		part, err := mw.CreateFormFile("file", filepath.Base(s.file))
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	err = c.Do(ctx, "POST", "/api/imports", pr, mw.FormDataContentType(), &out)
	pr.Close()
	return out.ID, err
}

type cliImport struct {
	Status    string `json:"status"`
	ProjectID string `json:"project_id"`
	Error     string `json:"error"`
	Progress  struct {
		Step         string `json:"step"`
		Message      string `json:"message"`
		Files        int    `json:"files"`
		Bytes        int64  `json:"bytes"`
		WaitingUntil string `json:"waiting_until"`
	} `json:"progress"`
	Report struct {
		NotCarried []string `json:"not_carried"`
	} `json:"report"`
}

// followImport prints the import's progress from its event stream until it
// ends, and returns its last record.
func followImport(ctx context.Context, c *client.Client, id string, w io.Writer) (cliImport, error) {
	var x cliImport
	res, err := c.Raw(ctx, "GET", "/api/imports/"+url.PathEscape(id)+"/events", nil, "")
	if err != nil {
		return x, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	last := ""
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(data), &x); err != nil {
			return x, err
		}
		p := x.Progress
		line := fmt.Sprintf("%s %s", x.Status, p.Step)
		if p.Message != "" {
			line += ": " + p.Message
		}
		if p.WaitingUntil != "" {
			line += " (until " + p.WaitingUntil + ")"
		}
		if p.Files > 0 {
			line += fmt.Sprintf(" [%d files, %d bytes]", p.Files, p.Bytes)
		}
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
		if x.Status != "queued" && x.Status != "running" {
			return x, nil
		}
	}
	if err := sc.Err(); err != nil {
		return x, err
	}
	return x, errors.New("the server ended the import's event stream early")
}
