package figma

import (
	"bytes"
	"context"
	"fmt"
)

// Source is what a Figma import starts from: an uploaded file's JSON, or
// the file's URL fetched with the client (which carries the token).
type Source struct {
	JSON   []byte
	URL    string
	Client *Client
}

// Import converts the source into a project written under dir, saying what
// it does through note; it returns the conversion's result.
func Import(ctx context.Context, src Source, dir string, note func(string)) (*Result, error) {
	if note == nil {
		note = func(string) {}
	}
	var f *File
	var opt Options
	var err error
	if src.JSON != nil {
		var limit int64
		if src.Client != nil {
			limit = src.Client.MaxBytes
		}
		if f, err = Parse(bytes.NewReader(src.JSON), limit); err != nil {
			return nil, err
		}
	} else {
		key, err := FileKey(src.URL)
		if err != nil {
			return nil, err
		}
		if src.Client == nil || src.Client.Token == "" {
			return nil, problem("give a Figma personal access token (Figma → Settings → Security → Personal access tokens), or upload the file's JSON")
		}
		note("fetching the Figma file")
		if f, err = src.Client.File(ctx, key); err != nil {
			return nil, err
		}
		opt.Render = src.Client.Renderer(key)
	}
	note("converting the design")
	if opt.Render != nil {
		render := opt.Render
		opt.Render = func(ctx context.Context, ids []string, format string) (map[string][]byte, error) {
			note(fmt.Sprintf("fetching %d %s renders", len(ids), format))
			return render(ctx, ids, format)
		}
	}
	res, err := Convert(ctx, f, opt)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	note(fmt.Sprintf("writing %d files", len(res.Files)))
	return res, WriteDir(dir, res.Files)
}
