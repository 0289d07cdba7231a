package grader_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
)

// benchGrade grades a solved sandbox of dir b.N times and reports p50/p90.
func benchGrade(b *testing.B, dir string) {
	e := newEnvB(b)
	ctx := b.Context()
	ch := loadB(b, dir)
	spec := grader.SandboxSpec(ch, 1)
	spec.OwnerID, spec.AttemptID = "bench", b.Name()
	sb, err := e.m.Create(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	defer e.m.Remove(ctx, sb.ID)
	if res, err := e.m.Exec(ctx, sb.ID, []string{"bash", "-s"}, sandbox.ExecOptions{Stdin: strings.NewReader(string(ch.SolutionScript())), Timeout: time.Minute}); err != nil || res.ExitCode != 0 {
		b.Fatalf("solution: %v %s", err, res.Stderr)
	}
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, 1, sb.ID))
		took = append(took, time.Since(start))
		if err != nil || !res.FullMarks() {
			b.Fatalf("grade: %v %d/%d", err, res.Score, res.MaxScore)
		}
	}
	b.StopTimer()
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Milliseconds()), "p90-ms")
	b.ReportMetric(float64(len(ch.Checks)), "checks")
}

// BenchmarkGradeTroubleshoot5Checks: web-perms (http, 2 file, 2 script
// checks) against a solved sandbox. Target: < 500 ms.
func BenchmarkGradeTroubleshoot5Checks(b *testing.B) { benchGrade(b, "testdata/web-perms") }

// BenchmarkGradeDockerBuild: docker-small (static rules + a real build
// without network, hardened run and port probe).
func BenchmarkGradeDockerBuild(b *testing.B) { benchGrade(b, "testdata/docker-small") }
