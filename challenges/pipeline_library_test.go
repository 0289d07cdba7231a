package challenges_test

import (
	"path/filepath"
	"testing"

	"github.com/opsdojo/opsdojo/challenges"
)

// TestLibraryPipelineChallengesLoad: the shipped pipeline challenges pass
// lint (their mutation files exist, the check fields are valid).
func TestLibraryPipelineChallengesLoad(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("../library/challenges/pipeline-*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no pipeline challenges in the library: %v", err)
	}
	for _, d := range dirs {
		ch, err := challenges.Load(d)
		if err != nil {
			t.Errorf("load %s: %v", d, err)
			continue
		}
		if ch.Kind != challenges.KindPipeline || ch.Checks[0].Pipeline == nil || len(ch.Checks[0].Pipeline.Mutations) == 0 {
			t.Errorf("%s: want a pipeline challenge whose check declares mutations", d)
		}
	}
}
