package store

import (
	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/recording"
)

// The domain packages declare the persistence they need as small
// interfaces (consumer-defined); *Store implements every one of them. A
// change on either side fails here, at build time.
var (
	_ accounts.Store    = (*Store)(nil)
	_ attempts.Store    = (*Store)(nil)
	_ assignments.Store = (*Store)(nil)
	_ recording.Store   = (*Store)(nil)
)
