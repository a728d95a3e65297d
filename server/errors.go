package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/attn-dev/attn/infer"
)

// apiError is an error with its HTTP status, written as OpenAI writes
// errors: {"error": {"message", "type", "code"}}.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, code, format string, args ...any) *apiError {
	typ := "invalid_request_error"
	switch {
	case status >= 500:
		typ = "server_error"
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	case status == http.StatusNotFound:
		typ = "not_found_error"
	}
	return &apiError{Status: status, Message: fmt.Sprintf(format, args...), Type: typ, Code: code}
}

func badRequest(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "invalid_value", format, args...)
}

// toAPIError classifies an error from the library: a prompt too long for
// the context is the client's (422); anything else is ours (500).
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ce *infer.ContextError
	if errors.As(err, &ce) {
		return newError(http.StatusUnprocessableEntity, "context_length_exceeded", "%s", strings.TrimPrefix(ce.Error(), "infer: "))
	}
	return newError(http.StatusInternalServerError, "internal_error", "%v", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

// decodeJSON reads one JSON object into v, refusing unknown fields,
// wrong types, trailing data and bodies over the limit (413).
func decodeJSON(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			return badRequest("the body holds more than one JSON value")
		}
		return nil
	}
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return newError(http.StatusRequestEntityTooLarge, "body_too_large", "the body exceeds %d bytes", mbe.Limit)
	case errors.As(err, &te):
		return badRequest("field %q: %s is not a %s", te.Field, te.Value, te.Type)
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.EOF):
		return badRequest("the body is empty: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return newError(http.StatusBadRequest, "unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return badRequest("malformed JSON: %v", err)
}
