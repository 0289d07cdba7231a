package pipeline

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
)

// action runs one of the supported actions offline and returns its exit
// code (0 = success). Lint has refused any other action before the run.
func (jc *jobCtx) action(ctx context.Context, name string, with, env map[string]string, log *bytes.Buffer, sr *StepResult) int {
	switch name {
	case "actions/checkout":
		dst := jc.workspace
		if p := with["path"]; p != "" {
			dst = path.Join(jc.workspace, p)
		}
		fmt.Fprintf(log, "checkout: copying the repository into %s (offline: the workspace as submitted)\n", dst)
		return jc.execStep(ctx, []string{"sh", "-c", `mkdir -p "$1" && cp -a "$0"/. "$1"/`, stageRepo, dst}, env, jc.workspace, log)
	case "actions/setup-go":
		return jc.setupTool(ctx, "go", []string{"go", "version"}, with["go-version"], env, log, sr)
	case "actions/setup-python":
		return jc.setupTool(ctx, "python", []string{"python3", "--version"}, with["python-version"], env, log, sr)
	case "actions/setup-node":
		return jc.setupTool(ctx, "node", []string{"node", "--version"}, with["node-version"], env, log, sr)
	case "actions/cache":
		fmt.Fprintf(log, "cache: key %q: miss (offline runner: nothing is cached between runs)\n", with["key"])
		sr.Outputs["cache-hit"] = "false"
		return 0
	case "actions/upload-artifact":
		return jc.upload(ctx, with, env, log)
	case "actions/download-artifact":
		return jc.download(ctx, with, log)
	}
	fmt.Fprintf(log, "uses: %s is not available offline (supported: %s)\n", name, strings.Join(supportedActions, ", "))
	return 1
}

// setupTool checks the runner image provides the tool and reports its
// version; a requested version is shown beside it (nothing is downloaded).
func (jc *jobCtx) setupTool(ctx context.Context, tool string, cmd []string, want string, env map[string]string, log *bytes.Buffer, sr *StepResult) int {
	var out bytes.Buffer
	code := jc.execStep(ctx, cmd, env, jc.workspace, &out)
	if code != 0 {
		fmt.Fprintf(log, "setup-%s: %s is not provided by the runner image %s\n%s", tool, tool, jc.r.o.Image, out.String())
		return 1
	}
	have := strings.TrimSpace(out.String())
	fmt.Fprintf(log, "setup-%s: using %s from the runner image (offline)", tool, have)
	if want != "" {
		fmt.Fprintf(log, "; asked for %s", want)
	}
	log.WriteString("\n")
	sr.Outputs[tool+"-version"] = have
	return 0
}

// upload copies the matched paths out of the job container into the run's
// artifacts (at most MaxArtifactBytes per artifact).
func (jc *jobCtx) upload(ctx context.Context, with, env map[string]string, log *bytes.Buffer) int {
	name := with["name"]
	if name == "" {
		name = "artifact"
	}
	var pats []string
	for l := range strings.Lines(with["path"]) {
		if l = strings.TrimSpace(l); l != "" {
			pats = append(pats, l)
		}
	}
	if len(pats) == 0 {
		fmt.Fprintf(log, "upload-artifact: with.path is required\n")
		return 1
	}
	var listing bytes.Buffer
	code := jc.execStep(ctx, append([]string{"bash", "-c", `shopt -s globstar nullglob dotglob; for p in "$@"; do case "$p" in '!'*) continue;; esac; for f in $p; do printf '%s\0' "$f"; done; done`, "bash"}, pats...), env, jc.workspace, &listing)
	if code != 0 {
		fmt.Fprintf(log, "upload-artifact: listing %v failed: %s\n", pats, listing.String())
		return 1
	}
	art := &Artifact{Name: name, Files: map[string][]byte{}}
	var total int64
	for _, m := range strings.Split(listing.String(), "\x00") {
		if m == "" {
			continue
		}
		abs := m
		if !path.IsAbs(abs) {
			abs = path.Join(jc.workspace, m)
		}
		rc, err := jc.r.b.CopyOut(ctx, jc.sb, abs, MaxArtifactBytes)
		if err != nil {
			fmt.Fprintf(log, "upload-artifact: %s: %v\n", m, err)
			return 1
		}
		err = readTarFiles(rc, path.Dir(strings.TrimSuffix(m, "/")), art.Files, &total)
		rc.Close()
		if err != nil {
			fmt.Fprintf(log, "upload-artifact: %s: %v\n", m, err)
			return 1
		}
	}
	if len(art.Files) == 0 {
		if with["if-no-files-found"] == "error" {
			fmt.Fprintf(log, "upload-artifact: no files found for %v\n", pats)
			return 1
		}
		fmt.Fprintf(log, "upload-artifact: warning: no files found for %v; no artifact uploaded\n", pats)
		return 0
	}
	// Paths are stored relative to the least common ancestor of the
	// patterns, as actions/upload-artifact does for a single path.
	art.Files = trimCommonDir(art.Files)
	jc.res.Artifacts[name] = art
	fmt.Fprintf(log, "upload-artifact: %s: %d file(s), %d bytes: %s\n", name, len(art.Files), total, strings.Join(slices.Sorted(maps.Keys(art.Files)), ", "))
	return 0
}

// readTarFiles adds the regular files of a CopyOut tar (names relative to
// the parent of the copied path) to files, as paths relative to the
// workspace (prefix is the copied path's parent).
func readTarFiles(rc io.Reader, prefix string, files map[string][]byte, total *int64) error {
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		*total += h.Size
		if *total > MaxArtifactBytes {
			return fmt.Errorf("artifact larger than %d bytes", MaxArtifactBytes)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return err
		}
		files[path.Clean(path.Join(prefix, h.Name))] = b
	}
}

func trimCommonDir(files map[string][]byte) map[string][]byte {
	keys := slices.Sorted(maps.Keys(files))
	if len(keys) == 0 {
		return files
	}
	common := path.Dir(keys[0])
	for _, k := range keys[1:] {
		for common != "." && common != "/" && !strings.HasPrefix(k, common+"/") {
			common = path.Dir(common)
		}
	}
	if common == "." || common == "/" {
		return files
	}
	out := map[string][]byte{}
	for k, v := range files {
		out[strings.TrimPrefix(k, common+"/")] = v
	}
	return out
}

// download copies an artifact uploaded earlier in the run into the
// workspace (with.path, default the workspace; without name: every
// artifact, each in a directory of its name).
func (jc *jobCtx) download(ctx context.Context, with map[string]string, log *bytes.Buffer) int {
	dst := jc.workspace
	if p := with["path"]; p != "" {
		dst = path.Join(jc.workspace, p)
		if path.IsAbs(p) {
			dst = p
		}
	}
	names := []string{with["name"]}
	sub := false
	if with["name"] == "" {
		names, sub = slices.Sorted(maps.Keys(jc.res.Artifacts)), true
	}
	for _, n := range names {
		art, ok := jc.res.Artifacts[n]
		if !ok {
			fmt.Fprintf(log, "download-artifact: no artifact named %q was uploaded earlier in this run\n", n)
			return 1
		}
		dir := dst
		if sub {
			dir = path.Join(dst, n)
		}
		r := &Repo{Files: map[string]RepoFile{}}
		for p, b := range art.Files {
			r.Files[p] = RepoFile{Mode: 0o644, Content: b}
		}
		var mk bytes.Buffer
		if code := jc.execStep(ctx, []string{"mkdir", "-p", dir}, nil, jc.workspace, &mk); code != 0 {
			fmt.Fprintf(log, "download-artifact: %s: %s\n", dir, mk.String())
			return 1
		}
		tr, err := r.tarUnder(".", runnerUID, runnerUID)
		if err == nil {
			err = jc.r.b.CopyIn(ctx, jc.sb, dir, tr)
		}
		if err != nil {
			fmt.Fprintf(log, "download-artifact: %s: %v\n", n, err)
			return 1
		}
		fmt.Fprintf(log, "download-artifact: %s: %d file(s) into %s\n", n, len(art.Files), dir)
	}
	return 0
}
