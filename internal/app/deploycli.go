package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ecode/internal/client"
)

const deployUsage = `usage: ecode deploy list|logs|rollback|scale|size PROJECT [flags]
  PROJECT is a project id or name. The server and token come from --server
  and --token or ECODE_SERVER and ECODE_TOKEN (make one with ecode token create).
  list                 the deployment's URL, status and releases
  logs [-q S] [-tail N] [-release ID]
                       the app's runtime log (the active release by default)
  rollback [-to ID] [-restore-data]
                       activate a release again (default: the newest kept
                       release older than the active one); -restore-data also
                       puts back the production data as it was at its publish
  scale N              run N instances now (server and autoscale deployments)
  size [NAME]          show the deployment's size and the sizes, or change it
                       (default, small, medium, large): the instances are
                       replaced by ones of the new size`

type cliRelease struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

type cliDeployment struct {
	URL             string       `json:"url"`
	Kind            string       `json:"kind"`
	Status          string       `json:"status"`
	ActiveReleaseID string       `json:"active_release_id"`
	Releases        []cliRelease `json:"releases"`
}

// deployCommand is ecode deploy: a project's deployment through the API.
func deployCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return errors.New(deployUsage)
	}
	sub, project := args[0], args[1]
	fs := flag.NewFlagSet("ecode deploy "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", getenv("ECODE_SERVER"), "the E-Code server's URL")
	token := fs.String("token", getenv("ECODE_TOKEN"), "a personal access token")
	q := fs.String("q", "", "logs: only lines containing this (case-insensitive)")
	tail := fs.Int("tail", 200, "logs: the last N lines")
	rel := fs.String("release", "", "logs: the release (default the active one)")
	to := fs.String("to", "", "rollback: the release to activate")
	restoreData := fs.Bool("restore-data", false, "rollback: also restore the release's data snapshot")
	if err := fs.Parse(args[2:]); err != nil {
		return fmt.Errorf("%w\n%s", err, deployUsage)
	}
	if *server == "" || *token == "" {
		return errors.New("ecode deploy: --server and --token (or ECODE_SERVER and ECODE_TOKEN) are required")
	}
	c := client.New(strings.TrimSuffix(*server, "/"))
	c.Token = *token
	id, err := resolveProject(ctx, c, project)
	if err != nil {
		return err
	}
	base := "/api/projects/" + url.PathEscape(id) + "/deployment"
	var d cliDeployment
	if err := c.Do(ctx, "GET", base, nil, "", &d); err != nil {
		return err
	}
	switch sub {
	case "list":
		return printDeployment(stdout, d)
	case "logs":
		v := url.Values{"q": {*q}, "tail": {strconv.Itoa(*tail)}, "release": {*rel}}
		var l struct{ Lines []string }
		if err := c.Do(ctx, "GET", base+"/logs?"+v.Encode(), nil, "", &l); err != nil {
			return err
		}
		for _, line := range l.Lines {
			fmt.Fprintln(stdout, line)
		}
		return nil
	case "rollback":
		target := *to
		if target == "" {
			if target = previousRelease(d); target == "" {
				return errors.New("ecode deploy rollback: no kept release older than the active one")
			}
		}
		var out struct{ Release cliRelease }
		body := fmt.Sprintf(`{"restore_data":%t}`, *restoreData)
		if err := c.Do(ctx, "POST", base+"/releases/"+url.PathEscape(target)+"/activate", strings.NewReader(body), "application/json", &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "release %s is %s at %s\n", out.Release.ID, out.Release.Status, d.URL)
		return nil
	case "scale":
		n, err := strconv.Atoi(fs.Arg(0))
		if err != nil || fs.NArg() != 1 {
			return fmt.Errorf("ecode deploy scale: give the instance count\n%s", deployUsage)
		}
		var out struct{ Instances int }
		if err := c.Do(ctx, "PATCH", base, strings.NewReader(fmt.Sprintf(`{"instances":%d}`, n)), "application/json", &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d instances serve %s\n", out.Instances, d.URL)
		return nil
	case "size":
		return deploySize(ctx, c, base, fs.Args(), stdout)
	}
	return fmt.Errorf("unknown deploy command %q\n%s", sub, deployUsage)
}

// resolveProject takes a project id, or the name of one of the user's projects.
func resolveProject(ctx context.Context, c *client.Client, ref string) (string, error) {
	ps, err := c.Projects(ctx)
	if err != nil {
		return "", err
	}
	var byName []string
	for _, p := range ps {
		if p.ID == ref {
			return p.ID, nil
		}
		if strings.EqualFold(p.Name, ref) {
			byName = append(byName, p.ID)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return "", fmt.Errorf("no project %q", ref)
	}
	return "", fmt.Errorf("%d projects are named %q: give the id", len(byName), ref)
}

// previousRelease is the newest kept release older than the active one
// (releases are listed newest first).
func previousRelease(d cliDeployment) string {
	seen := false
	for _, r := range d.Releases {
		if r.ID == d.ActiveReleaseID {
			seen = true
		} else if seen && (r.Status == "ready" || r.Status == "live") {
			return r.ID
		}
	}
	return ""
}

func printDeployment(w io.Writer, d cliDeployment) error {
	if len(d.Releases) == 0 {
		fmt.Fprintln(w, "not published")
		return nil
	}
	fmt.Fprintf(w, "%s  %s  %s\n\n", d.URL, d.Kind, d.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tSTATUS\tCREATED\tREASON")
	for _, r := range d.Releases {
		id := r.ID
		if r.ID == d.ActiveReleaseID {
			id += " *"
		}
		reason, _, _ := strings.Cut(r.Reason, "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, r.Status, r.CreatedAt.Local().Format(time.DateTime), reason)
	}
	return tw.Flush()
}

// cliSize is a deployment size as GET /deployment lists it.
type cliSize struct {
	Name        string  `json:"name"`
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	Allowed     bool    `json:"allowed"`
	Reason      string  `json:"reason"`
}

// deploySize is ecode deploy size [NAME]: without a name the current size
// and the choices, with one the change (PATCH size).
func deploySize(ctx context.Context, c *client.Client, base string, args []string, stdout io.Writer) error {
	var out struct {
		Size  cliSize   `json:"size"`
		Sizes []cliSize `json:"sizes"`
	}
	if len(args) > 1 {
		return fmt.Errorf("ecode deploy size: give at most one size\n%s", deployUsage)
	}
	if len(args) == 0 {
		if err := c.Do(ctx, "GET", base, nil, "", &out); err != nil {
			return err
		}
		for _, z := range out.Sizes {
			mark, note := " ", ""
			if z.Name == out.Size.Name {
				mark = "*"
			}
			if !z.Allowed {
				note = "  (" + z.Reason + ")"
			}
			fmt.Fprintf(stdout, "%s %-8s %g vCPU  %d MiB%s\n", mark, z.Name, z.CPU, z.MemoryBytes>>20, note)
		}
		return nil
	}
	body := fmt.Sprintf(`{"size":%q}`, args[0])
	var res resizeState
	if err := c.Do(ctx, "PATCH", base, strings.NewReader(body), "application/json", &res); err != nil {
		return err
	}
	if err := waitResized(ctx, c, base, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "size %s: %g vCPU, %d MiB per instance\n", res.Size.Name, res.Size.CPU, res.Size.MemoryBytes>>20)
	return nil
}

// resizeState is what ecode deploy size reads of the deployment after a
// change of size.
type resizeState struct {
	Size        cliSize `json:"size"`
	Resizing    bool    `json:"resizing"`
	ResizeError string  `json:"resize_error"`
}

// waitResized waits while the deployment's instances are replaced by ones
// of the new size (the server does it after answering), asking every half
// second; a failed resize is the error.
func waitResized(ctx context.Context, c *client.Client, base string, res *resizeState) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for res.Resizing {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		*res = resizeState{}
		if err := c.Do(ctx, "GET", base, nil, "", res); err != nil {
			return err
		}
		if !res.Resizing && res.ResizeError != "" {
			return fmt.Errorf("ecode deploy size: %s; the old instances keep serving", res.ResizeError)
		}
	}
	return nil
}
