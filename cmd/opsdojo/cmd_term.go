package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opsdojo/opsdojo/termclient"
)

// Summary for the command table: "term": {termSummary, runTerm}.
const termSummary = "open a sandbox terminal from a ticket: stdin is typed, output goes to stdout (term URL --ticket T)"

const termUsage = `term URL [flags]

Opens the terminal websocket at URL (ws://, wss://, http:// or https://,
e.g. https://opsdojo.example/ws/terminal/ATTEMPT/1) with a ticket from the
web app, types stdin into it and copies its output to stdout. When stdin is
a terminal it is put in raw mode (Ctrl-C goes to the remote shell); when it
is a pipe, end of input sends Ctrl-D so the shell exits, and the command
exits with the shell's status.`

func runTerm(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "term", termUsage)
	ticket := fs.String("ticket", "", "single-use terminal ticket (from POST /api/v1/attempts/ID/terminals/NAME/ticket)")
	origin := fs.String("origin", "", "Origin header to send (default: the URL's own origin)")
	cols := fs.Int("cols", 0, "terminal columns (default: this terminal's, else 80)")
	rows := fs.Int("rows", 0, "terminal rows (default: this terminal's, else 24)")
	eofExit := fs.Bool("eof-exit", true, "at end of stdin send Ctrl-D so the shell exits")
	wait := fs.Duration("wait", 30*time.Second, "after end of stdin, how long to wait for the shell to finish")
	timeout := fs.Duration("timeout", 0, "end the session after this long (0: no limit)")
	var rawURL string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		rawURL, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if rawURL == "" && len(fs.Args()) > 0 {
		rawURL = fs.Args()[0]
	}
	if rawURL == "" {
		fmt.Fprintln(app.stderr, "opsdojo term: the terminal URL is required")
		fs.fs.Usage()
		return errUsage
	}
	if *ticket == "" && !strings.Contains(rawURL, "ticket=") {
		fmt.Fprintln(app.stderr, "opsdojo term: --ticket (or $OPSDOJO_TICKET) is required")
		return errUsage
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	stdinFd, isTTY := ttyFd(app.stdin)
	if *cols <= 0 || *rows <= 0 {
		*cols, *rows = 80, 24
		if isTTY {
			if ws, err := unix.IoctlGetWinsize(stdinFd, unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
				*cols, *rows = int(ws.Col), int(ws.Row)
			}
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := termclient.Dial(dctx, rawURL, *ticket, termclient.Options{Origin: *origin, Cols: *cols, Rows: *rows})
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()

	if isTTY {
		restore, err := makeRaw(stdinFd)
		if err != nil {
			return fmt.Errorf("raw mode: %w", err)
		}
		defer restore()
		go followWindow(ctx, stdinFd, conn)
	}

	// stdin -> terminal
	inputDone := make(chan struct{})
	go func() {
		defer close(inputDone)
		buf := make([]byte, termclient.ChunkBytes)
		for {
			n, err := app.stdin.Read(buf)
			if n > 0 {
				if _, werr := conn.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if *eofExit && errors.Is(err, io.EOF) {
					_, _ = conn.Write([]byte{4})
				}
				return
			}
		}
	}()

	// terminal -> stdout, until the server closes or we give up.
	outDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(app.stdout, conn)
		outDone <- err
	}()
	var waitC <-chan time.Time
	for {
		select {
		case err := <-outDone:
			return termResult(conn, err)
		case <-inputDone:
			inputDone = nil
			if *wait > 0 {
				waitC = time.After(*wait)
			}
		case <-waitC:
			return errors.New("the shell did not finish within --wait after the end of input")
		case <-ctx.Done():
			_ = conn.Close()
			return fmt.Errorf("terminal: %w", ctx.Err())
		}
	}
}

// termResult turns the end of the session into the command's result: the
// shell's exit status, or the server's close reason.
func termResult(conn *termclient.Conn, copyErr error) error {
	if code, ok := conn.ExitCode(); ok {
		if code != 0 {
			return &exitError{code: code}
		}
		return nil
	}
	var ce *termclient.CloseError
	if errors.As(copyErr, &ce) || errors.As(conn.Err(), &ce) {
		if ce.Code == 1000 {
			return nil
		}
		return fmt.Errorf("the server closed the terminal (%d): %s", ce.Code, ce.Reason)
	}
	if copyErr != nil {
		return fmt.Errorf("terminal: %w", copyErr)
	}
	return nil
}

func ttyFd(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return -1, false
	}
	fd := int(f.Fd())
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return fd, err == nil
}

// makeRaw puts the terminal fd in raw mode and returns how to restore it.
func makeRaw(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// followWindow sends a resize whenever the local terminal changes size.
func followWindow(ctx context.Context, fd int, conn *termclient.Conn) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.Done():
			return
		case <-ch:
			if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
				_ = conn.Resize(int(ws.Col), int(ws.Row))
			}
		}
	}
}
