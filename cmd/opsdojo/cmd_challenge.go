package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opsdojo/opsdojo/challenges"
)

// runChallenge dispatches the author tools: lint, new, test.
func runChallenge(ctx context.Context, app *cli, args []string) error {
	usage := "Usage: opsdojo challenge lint PATH… | new KIND NAME [--dir DIR] | test [-v] DIR… | check DIR --sandbox ID|--attempt ID [CHECK…]"
	if len(args) == 0 {
		fmt.Fprintln(app.stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "lint":
		return runChallengeLint(ctx, app, args[1:])
	case "new":
		return runChallengeNew(ctx, app, args[1:])
	case "test":
		return runChallengeTest(ctx, app, args[1:])
	case "check":
		return runChallengeCheck(ctx, app, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(app.stdout, usage)
		return errHelp
	default:
		fmt.Fprintf(app.stderr, "opsdojo challenge: unknown subcommand %q\n%s\n", args[0], usage)
		return errUsage
	}
}

// runChallengeLint validates challenges and prints one file:line:col: msg
// line per problem on stdout. Exit 0 when clean, 1 when there are problems.
func runChallengeLint(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "challenge lint", "challenge lint [--quiet] [--no-docker] PATH…\n\nPATH is a challenge directory, its challenge.yaml, or a directory of challenges")
	quiet := fs.Bool("quiet", false, "print only the problems, no summary")
	noDocker := fs.Bool("no-docker", false, "skip checking that each sandbox image is on the Docker host (without Docker the check is a warning)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		fs.fs.Usage()
		return errUsage
	}
	var dirs []string
	var problems int
	for _, p := range paths {
		found, err := challengeDirs(p)
		if err != nil {
			fmt.Fprintf(app.stdout, "%s: %v\n", p, err)
			problems++
			continue
		}
		dirs = append(dirs, found...)
	}
	ids := map[string]string{}
	var imgCheck challenges.ImageChecker
	if !*noDocker {
		imgCheck = lintImageChecker(ctx, app)
	}
	for _, dir := range dirs {
		c, err := challenges.Load(dir)
		var ps challenges.Problems
		switch {
		case errors.As(err, &ps):
			for _, p := range ps {
				fmt.Fprintln(app.stdout, p.String())
			}
			problems += len(ps)
			continue
		case err != nil:
			fmt.Fprintf(app.stdout, "%s: %v\n", dir, err)
			problems++
			continue
		}
		if prev, dup := ids[c.ID]; dup {
			fmt.Fprintf(app.stdout, "%s: id %q is also used by %s\n", filepath.Join(dir, challenges.SpecFile), c.ID, prev)
			problems++
			continue
		}
		ids[c.ID] = dir
		if imgCheck != nil {
			problems += lintImage(ctx, app, dir, c, imgCheck)
		}
	}
	if !*quiet {
		fmt.Fprintf(app.stderr, "%d challenge(s), %d problem(s)\n", len(dirs), problems)
	}
	if problems > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// challengeDirs resolves a lint argument: a challenge.yaml, a challenge
// directory, or a tree containing challenge directories.
func challengeDirs(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if filepath.Base(p) != challenges.SpecFile {
			return nil, fmt.Errorf("not a %s or a directory", challenges.SpecFile)
		}
		return []string{filepath.Dir(p)}, nil
	}
	if _, err := os.Stat(filepath.Join(p, challenges.SpecFile)); err == nil {
		return []string{p}, nil
	}
	var dirs []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != p && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, challenges.SpecFile)); err == nil {
			dirs = append(dirs, path)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no %s found under this directory", challenges.SpecFile)
	}
	return dirs, nil
}

// runChallengeNew scaffolds a challenge that passes lint and self-test.
func runChallengeNew(_ context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "challenge new", "challenge new KIND NAME [--dir DIR] [--schema URL]\n\nKIND is troubleshoot, dockerfile, terraform or pipeline; NAME is the challenge id (a slug)")
	dir := fs.String("dir", "", "the challenge's directory, created if missing (default ./NAME)")
	schema := fs.String("schema", challenges.SchemaURL, "JSON Schema reference written in the yaml-language-server comment")
	force := fs.Bool("force", false, "write into an existing, non-empty directory")
	// Flags may come before or after the positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) != 2 {
		fs.fs.Usage()
		return errUsage
	}
	kind, name := challenges.Kind(pos[0]), pos[1]
	files, err := challenges.Scaffold(kind, name, *schema)
	if err != nil {
		return err
	}
	target := *dir
	if target == "" {
		target = name
	}
	if entries, err := os.ReadDir(target); err == nil && len(entries) > 0 && !*force {
		return fmt.Errorf("%s exists and is not empty (use --force to write into it)", target)
	}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(target, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
		}
		mode := os.FileMode(0o644)
		if challenges.ScaffoldExecutable(rel) {
			mode = 0o755
		}
		if err := os.WriteFile(p, files[rel], mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	if _, err := challenges.Load(target); err != nil {
		return fmt.Errorf("the scaffold does not lint (a bug, please report):\n%w", err)
	}
	fmt.Fprintf(app.stdout, "created %s challenge %s in %s\n", kind, name, target)
	fmt.Fprintf(app.stdout, "next: edit %s, then run\n  opsdojo challenge lint %s\n  opsdojo challenge test %s\n", filepath.Join(target, challenges.SpecFile), target, target)
	return nil
}
