package server

// TerminalDeps carries what the terminal routes need. Owned by the
// terminal work: fields are added there.
type TerminalDeps struct{}

// registerTerminal mounts the terminal routes (websocket, replay).
func (s *Server) registerTerminal() {}
