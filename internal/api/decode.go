package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 1 << 20

// validator is implemented by request types; it returns field errors.
type validator interface {
	validate() map[string]string
}

// decode reads one JSON object into v (unknown fields refused) and validates
// it. The Content-Type is not checked: cross-site form posts are refused by
// the cross-origin protection before they get here.
func decode(w http.ResponseWriter, r *http.Request, v validator) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errBadRequest("request body must be a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest("request body must be a single JSON object")
	}
	if fields := v.validate(); len(fields) > 0 {
		return errInvalid(fields)
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errTooLarge(fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	case errors.Is(err, io.EOF):
		return errBadRequest("request body is empty")
	case errors.As(err, &syn):
		return errBadRequest(fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		return errInvalid(map[string]string{typ.Field: "must be a " + typ.Type.String()})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errBadRequest(strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("malformed JSON: unexpected end")
	}
	return errBadRequest("malformed JSON")
}
