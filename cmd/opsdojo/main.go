// Command opsdojo is the single binary of the opsdojo platform: the web
// server, the author tools (challenge lint/test/new), the operator tools
// (migrate, images build, sandbox …). Configuration is read here and only
// here: every option is a flag with an OPSDOJO_* environment equivalent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and returns an error for the user; an *exitError carries a specific
// exit status without a message (for example `sandbox exec` returning the
// command's own status).
type command struct {
	summary string
	run     func(ctx context.Context, app *cli, args []string) error
}

// cli carries what every subcommand needs from the process: the standard
// streams and the environment. Tests build one with buffers and a map.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// onListen, when set, is told the address serve listens on (tests use
	// --addr 127.0.0.1:0).
	onListen func(addr string)
	// onMetricsListen, when set, is told the address of --metrics-addr.
	onMetricsListen func(addr string)
}

// exitError asks main to exit with code without printing anything more.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func commands() map[string]command {
	return map[string]command{
		"serve":       {"start the web server", runServe},
		"migrate":     {"apply or show database migrations (up|status)", runMigrate},
		"images":      {"build the sandbox images (images build [--offline])", runImages},
		"sandbox":     {"run, list and remove sandboxes (exec|shell|ls|rm)", runSandbox},
		"challenge":   {"author tools (lint|new|test|check)", runChallenge},
		"pipeline":    {"run or lint GitHub Actions workflows offline (pipeline run DIR | lint FILE…)", runPipeline},
		"version":     {"print the version", runVersion},
		"term":        {termSummary, runTerm},
		"user":        {"manage accounts (user create --role … --email … --password-stdin)", runUser},
		"healthcheck": {"exit 0 when the server answers /healthz (for container health checks)", runHealthcheck},
		"backup":      {"write one archive of the database (online), recordings and uploads (backup --out FILE)", runBackup},
		"restore":     {"load a backup archive into an empty database and data dir (restore [--force] FILE)", runRestore},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(app.main(ctx, os.Args[1:]))
}

func (app *cli) main(ctx context.Context, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		app.usage(cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(app.stderr, "opsdojo: unknown command %q (run 'opsdojo help' for the list)\n", args[0])
		return 2
	}
	err := cmd.run(ctx, app, args[1:])
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	fmt.Fprintf(app.stderr, "opsdojo %s: %v\n", args[0], err)
	return 1
}

func (app *cli) usage(cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(app.stdout, "opsdojo — DevOps interview and practice labs\n\nUsage: opsdojo COMMAND [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(app.stdout, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(app.stdout, "\nRun 'opsdojo COMMAND --help' for a command's flags and their OPSDOJO_* environment variables.")
}

var version = "dev"

func runVersion(_ context.Context, app *cli, _ []string) error {
	fmt.Fprintln(app.stdout, "opsdojo", version)
	return nil
}
