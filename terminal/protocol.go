// Package terminal is the session hub behind opsdojo's browser terminal: it
// issues the short-lived tickets a websocket must present, keeps one shell
// per (sandbox, terminal name) running across reconnects with a bounded
// scrollback, and pumps bytes between the shell and at most one websocket at
// a time with bounded buffers, so a slow browser slows the shell instead of
// growing the server's memory.
//
// Wire protocol (docs/TERMINAL.md): binary frames carry raw terminal bytes
// both ways; text frames carry JSON control messages. Client to server:
// {"type":"resize","cols":120,"rows":40}, {"type":"ping"}. Server to client:
// {"type":"hello",...}, {"type":"exit","code":0}, {"type":"status",...},
// {"type":"error","message":...}, {"type":"pong"} and whatever the
// application pushes with Hub.Broadcast (e.g. {"type":"check","result":...}).
package terminal

import (
	"encoding/json"
	"time"
)

// Limits of the protocol and of one connection. They are constants on
// purpose: docs/TERMINAL.md and the tests refer to them by name.
const (
	// MaxFrameBytes is the largest message a client may send. Larger
	// messages close the connection with CloseTooBig; the browser client
	// splits pastes into frames of at most ClientChunkBytes.
	MaxFrameBytes = 64 << 10
	// ClientChunkBytes is what clients should send per binary frame.
	ClientChunkBytes = 16 << 10
	// InputRate and InputBurst bound how fast one connection may type
	// (bytes per second, token bucket). A bigger paste is throttled: the
	// connection's reader waits, TCP pushes back on the sender, and no
	// other session notices.
	InputRate  = 256 << 10
	InputBurst = 1 << 20
	// MessageRate and MessageBurst bound frames per second per connection
	// (typing is ~10/s; a flood of tiny frames is throttled like a paste).
	MessageRate  = 500
	MessageBurst = 2000
	// MaxBadControl is how many malformed or unknown control messages a
	// connection may send (each answered with an "error" event) before it is
	// closed with CloseUnsupported.
	MaxBadControl = 20
	// MinCols..MaxRows bound resize requests.
	MinCols, MaxCols = 2, 1000
	MinRows, MaxRows = 1, 500
	// DefaultCols and DefaultRows are used when the client gives no size.
	DefaultCols, DefaultRows = 80, 24

	// PingInterval is how often the server pings; a client that has not
	// answered (or sent anything) within PongWait is dropped.
	PingInterval = 20 * time.Second
	PongWait     = 2*PingInterval + 5*time.Second
	// WriteWait bounds one write to the socket. A browser that accepts
	// nothing for this long is disconnected (its session waits for a
	// reconnect for Config.Grace).
	WriteWait = 30 * time.Second
	// CloseWait bounds the closing handshake.
	CloseWait = 2 * time.Second

	// OutputChunkBytes is the largest read from the shell (and so the
	// largest binary frame the server sends).
	OutputChunkBytes = 32 << 10
	// OutputQueue is how many output chunks may wait for the socket writer.
	// Together with OutputChunkBytes it bounds per-connection buffering
	// (512 KiB); when it is full the pump stops reading the shell.
	OutputQueue = 16
	// EventQueue is how many control events may wait for the writer; when a
	// client is that far behind further events are dropped (and logged).
	EventQueue = 32
)

// Close codes sent to clients. 1000–1011 are the standard ones; 4000–4999
// are opsdojo's (RFC 6455 §7.4.2 reserves them for applications).
const (
	CloseNormal      = 1000 // the shell exited
	CloseGoingAway   = 1001 // server shutting down
	CloseUnsupported = 1003 // too many malformed control messages
	ClosePolicy      = 1008 // other protocol abuse
	CloseTooBig      = 1009 // a frame above MaxFrameBytes
	CloseInternal    = 1011 // the shell could not be started
	CloseTicket      = 4001 // ticket missing, unknown, used, expired or for another terminal
	CloseSandboxGone = 4004 // the sandbox was removed or expired
	CloseTakenOver   = 4009 // the same terminal was opened in another window
	CloseIdle        = 4008 // no pong within PongWait
	CloseTooMany     = 4029 // too many terminals
)

// maxCloseReason is the longest close reason that fits a control frame.
const maxCloseReason = 123

// control is a client's JSON control message.
type control struct {
	Type string `json:"type"`
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}

// Event is a server-to-client control message.
type Event struct {
	Type    string          `json:"type"`
	Code    *int            `json:"code,omitempty"`
	State   string          `json:"state,omitempty"`
	Message string          `json:"message,omitempty"`
	Term    string          `json:"term,omitempty"`
	Resumed *bool           `json:"resumed,omitempty"`
	Cols    int             `json:"cols,omitempty"`
	Rows    int             `json:"rows,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

// Size is a terminal size in character cells.
type Size struct{ Cols, Rows int }

// Valid reports whether s is within the accepted bounds.
func (s Size) Valid() bool {
	return s.Cols >= MinCols && s.Cols <= MaxCols && s.Rows >= MinRows && s.Rows <= MaxRows
}

func truncReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}
