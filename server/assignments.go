package server

// registerAssignments mounts the take-home assignment and review routes.
// Owned by the assignments work.
func (s *Server) registerAssignments() {}

// ReviewDeps carries what the assignment and review routes need. Owned by
// the assignments work: fields are added there.
type ReviewDeps struct{}
