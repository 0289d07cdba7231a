package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// input is a request body read the same way whatever its encoding:
// application/json, application/x-www-form-urlencoded or
// multipart/form-data. Handlers ask it for fields by name and never read
// the query string through it (a password or CSRF token in a URL ends up in
// logs, Referer headers and history).
//
// JSON values map onto form values: a string or number is one value (42 →
// "42"), true is "true" and false or null is absent (as an unchecked
// checkbox), an array is a repeated field. Nested objects, and an empty
// body declared as JSON, are refused.
type input struct{ vals url.Values }

const localsInput = "body.input"

// Get returns the first value of field, or "".
func (in input) Get(field string) string { return in.vals.Get(field) }

// All returns every value of a repeated field (checkboxes, JSON arrays).
func (in input) All(field string) []string { return in.vals[field] }

// Has reports whether field was sent (a checked checkbox, a JSON true).
func (in input) Has(field string) bool { return in.vals.Get(field) != "" }

// readInput parses the request body once per request (middleware and
// handler share it). A body of another type reads as empty.
func readInput(c *fiber.Ctx) (input, error) {
	if in, ok := c.Locals(localsInput).(input); ok {
		return in, nil
	}
	in, err := parseInput(c)
	if err != nil {
		return input{vals: url.Values{}}, err
	}
	c.Locals(localsInput, in)
	return in, nil
}

func parseInput(c *fiber.Ctx) (input, error) {
	vals := url.Values{}
	ct := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentType)))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationJSON):
		body := bytes.TrimSpace(c.Body())
		if len(body) == 0 {
			return input{vals: vals}, errors.New("the JSON body is empty: send an object of fields")
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return input{vals: vals}, fmt.Errorf("the JSON body is not an object of fields: %w", err)
		}
		for k, v := range m {
			if err := addJSON(vals, k, v, true); err != nil {
				return input{vals: vals}, err
			}
		}
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		c.Context().PostArgs().VisitAll(func(k, v []byte) { vals.Add(string(k), string(v)) })
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, err := c.MultipartForm()
		if err != nil {
			return input{vals: vals}, fmt.Errorf("the multipart body cannot be read: %w", err)
		}
		for k, vs := range form.Value {
			vals[k] = append(vals[k], vs...)
		}
	}
	return input{vals: vals}, nil
}

func addJSON(vals url.Values, k string, v any, top bool) error {
	switch x := v.(type) {
	case nil:
	case string:
		vals.Add(k, x)
	case json.Number:
		vals.Add(k, x.String())
	case bool:
		if x {
			vals.Add(k, "true")
		}
	case []any:
		if !top {
			return fmt.Errorf("JSON field %q: arrays inside arrays are not accepted", k)
		}
		for _, e := range x {
			if err := addJSON(vals, k, e, false); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("JSON field %q: expected a string, number, boolean or array, got an object", k)
	}
	return nil
}

// badInput answers 400 for a body that cannot be parsed.
func badInput(err error) error {
	return fiber.NewError(fiber.StatusBadRequest, err.Error())
}
