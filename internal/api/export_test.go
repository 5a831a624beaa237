package api

import "net/http"

// HandlerWithPanic is the server's handler with one more route, GET
// /api/test/panic (any signed-in user), whose handler panics: error
// tracking is tested through the real middleware.
func (s *Server) HandlerWithPanic() http.Handler {
	return s.handler(append(s.routes(), route{"GET /api/test/panic", Signed, panickingHandler}))
}

func panickingHandler(w http.ResponseWriter, r *http.Request) error {
	var m map[string]int
	m["boom"]++ // assignment to entry in nil map
	return nil
}
