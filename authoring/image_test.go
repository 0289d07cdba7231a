package authoring

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
)

type fakeImages struct {
	err   error
	built []string
}

func (f *fakeImages) BuildChallengeImage(_ context.Context, ch *challenges.Challenge) error {
	f.built = append(f.built, ch.Sandbox.Image)
	return f.err
}

func waitTest(t *testing.T, s *Service, id string) *TestState {
	t.Helper()
	for i := 0; i < 500; i++ { // bounded: the fakes return at once
		if st := s.TestStateOf(id); st != nil && !st.Running {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("self-test did not finish")
	return nil
}

// TestSelfTestBuildsTheChallengeImage: an uploaded challenge with
// `sandbox.image: build` gets its image built before its self-test; a
// failed build is the report (no sandbox is started for it).
func TestSelfTestBuildsTheChallengeImage(t *testing.T) {
	t.Parallel()
	for _, fail := range []bool{false, true} {
		s, cat, _ := newService(t)
		s.tester = fakeTester{}
		imgs := &fakeImages{}
		if fail {
			imgs.err = errors.New("FROM debian:12 is not allowed")
		}
		s.SetImageBuilder(imgs)
		files := sampleFiles(t, "")
		files["challenge.yaml"] = strings.Replace(files["challenge.yaml"], "image: opsdojo/shell", "image: build", 1)
		files["image/Dockerfile"] = "FROM opsdojo/shell:latest\n"
		if res, err := s.Upload(context.Background(), alice, "c.tgz", tgz(t, files)); err != nil || len(res.Problems) > 0 {
			t.Fatalf("upload: %+v %v", res, err)
		}
		ch, _ := cat.Get("edit-config")
		if !ch.BuildsImage() {
			t.Fatalf("image %q", ch.Sandbox.Image)
		}
		if err := s.StartSelfTest(context.Background(), alice, "edit-config", 1); err != nil {
			t.Fatal(err)
		}
		st := waitTest(t, s, "edit-config")
		if len(imgs.built) != 1 || imgs.built[0] != ch.Sandbox.Image {
			t.Fatalf("built %v, want %s", imgs.built, ch.Sandbox.Image)
		}
		sc := st.Report.Scenarios
		switch {
		case fail && (len(sc) != 1 || sc[0].Name != "image" || !strings.Contains(sc[0].Err, "FROM debian:12 is not allowed") || st.Report.OK()):
			t.Fatalf("failed build: %+v", st.Report)
		case !fail && (len(sc) != 1 || sc[0].Name != "solution"):
			t.Fatalf("built image: %+v", st.Report)
		}
	}
}
