package grader_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/pipeline"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestPipelineTakeHomeSelfTest runs the library's pipeline take-home
// through the self-test: the unsolved placeholder workflow (always green),
// each wrong fix (swallowed failures, packaging without needs, no package)
// score 0 and the solution full marks, with real job containers.
func TestPipelineTakeHomeSelfTest(t *testing.T) {
	e := newEnv(t)
	sandboxtest.NeedImage(t, sandboxtest.Client(t), pipeline.DefaultImage, "opsdojo images build runner")
	ctx := sandboxtest.Context(t, 25*time.Minute)
	ch := load(t, "../library/challenges/pipeline-ci-takehome")
	rep := grader.NewSelfTester(e.m, e.g, 2).Test(ctx, ch, 1)
	var b strings.Builder
	grader.WriteReport(&b, rep, ch)
	t.Log("\n" + b.String())
	if !rep.OK() {
		t.Fatal("self-test failed")
	}
}
