package recording

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLine bounds one asciicast line when parsing.
const maxLine = 4 << 20

// Header is the first line of an asciicast v2 file.
type Header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title"`
	Env       map[string]string `json:"env"`
}

// Event is one asciicast v2 event.
type Event struct {
	Time float64
	Kind string // "o" output, "i" input, "r" resize
	Data string
}

// Parse reads an asciicast v2 stream (decompressed).
func Parse(r io.Reader) (Header, []Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var h Header
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, nil, fmt.Errorf("asciicast header: %w", err)
		}
		return h, nil, errors.New("asciicast: empty")
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, nil, fmt.Errorf("asciicast header: %w", err)
	}
	if h.Version != 2 {
		return h, nil, fmt.Errorf("asciicast: version %d, want 2", h.Version)
	}
	var evs []Event
	for line := 2; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var raw [3]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			return h, evs, fmt.Errorf("asciicast line %d: %w", line, err)
		}
		var ev Event
		if err := json.Unmarshal(raw[0], &ev.Time); err != nil {
			return h, evs, fmt.Errorf("asciicast line %d: time: %w", line, err)
		}
		if err := json.Unmarshal(raw[1], &ev.Kind); err != nil {
			return h, evs, fmt.Errorf("asciicast line %d: kind: %w", line, err)
		}
		if err := json.Unmarshal(raw[2], &ev.Data); err != nil {
			return h, evs, fmt.Errorf("asciicast line %d: data: %w", line, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return h, evs, fmt.Errorf("asciicast: %w", err)
	}
	return h, evs, nil
}

// Output concatenates the output events: what the terminal showed.
func Output(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Kind == "o" {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}
