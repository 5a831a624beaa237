package api_test

import (
	"time"

	"ecode/internal/api"
)

type apiOpts = api.Options

// apiOptions returns the test defaults changed by edit.
func apiOptions(edit func(*api.Options)) api.Options {
	o := api.Options{Version: "test", SessionMax: 30 * 24 * time.Hour, SignupOpen: true,
		MaxFileBytes: 1 << 20, MaxUploadBytes: 4 << 20}
	edit(&o)
	return o
}
