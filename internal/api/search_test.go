package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

func TestProjectSearch(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		c := srv.User(t, "searcher")
		p, err := c.CreateProject(ctx, "Search me", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, p.ID, "lib/util.js", []byte("export const x = 1\n// TODO: find this\n")); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Matches []struct {
				Path   string `json:"path"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
				Text   string `json:"text"`
			} `json:"matches"`
			Truncated bool `json:"truncated"`
			Files     int  `json:"files"`
		}
		if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/search?q="+url.QueryEscape("todo: find"), nil, "", &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != 1 || res.Matches[0].Path != "lib/util.js" || res.Matches[0].Line != 2 || res.Matches[0].Column != 4 || res.Files < 3 {
			t.Errorf("search: %+v", res)
		}
		// The template's package.json carries the project's name.
		var pkg struct{ Name string }
		if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/files/package.json", nil, "", &pkg); err != nil {
			t.Fatal(err)
		}
		if pkg.Name != "search-me" {
			t.Errorf("package.json name %q", pkg.Name)
		}
		for _, q := range []string{"", "%20", "a%0Ab"} {
			err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/search?q="+q, nil, "", nil)
			wantStatus(t, err, http.StatusBadRequest)
		}
		var sug struct{ Template string }
		if err := c.Do(ctx, "GET", "/api/templates/suggest?prompt="+url.QueryEscape("a REST API with Express"), nil, "", &sug); err != nil {
			t.Fatal(err)
		}
		if sug.Template != "node" {
			t.Errorf("suggested %q", sug.Template)
		}
	})
}
