package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
)

const userUsage = `Usage:
  opsdojo user create --role ROLE --email EMAIL [--name NAME] --password-stdin
  opsdojo user reset-password [--password-stdin] EMAIL`

func runUser(ctx context.Context, app *cli, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "create":
			return runUserCreate(ctx, app, args[1:])
		case "reset-password":
			return runUserResetPassword(ctx, app, args[1:])
		}
	}
	fmt.Fprintln(app.stderr, userUsage)
	return errUsage
}

// readPassword reads the password from the first line of standard input.
func readPassword(app *cli) (string, error) {
	line, err := bufio.NewReader(app.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runUserCreate(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "user create", "user create --role ROLE --email EMAIL [--name NAME] --password-stdin")
	cf := addCommonFlags(fs)
	role := fs.String("role", "candidate", "candidate, manager, author or admin")
	email := fs.String("email", "", "the user's email (their login)")
	name := fs.String("name", "", "display name")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*pwStdin {
		return errors.New("--password-stdin is required (passwords are never taken from flags, which show in process lists)")
	}
	password, err := readPassword(app)
	if err != nil {
		return err
	}
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}
	st, err := cf.openMigrated(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := accounts.New(st, accounts.Config{}, log, time.Now).CreateUser(ctx, accounts.NewUser{Email: *email, Name: *name, Password: password, Role: accounts.Role(*role)})
	if err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}

// runUserResetPassword is the administrator's reset: a generated password
// (printed once) or one read from standard input; every session of the
// user ends, so whoever held one has to log in with the new password.
func runUserResetPassword(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "user reset-password", "user reset-password [--password-stdin] EMAIL")
	cf := addCommonFlags(fs)
	pwStdin := fs.Bool("password-stdin", false, "read the new password from the first line of standard input (default: generate one and print it)")
	// Flags may come before or after the email.
	if err := fs.Parse(args); err != nil {
		return err
	}
	var email string
	if rest := fs.Args(); len(rest) > 0 {
		email = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
	}
	if email == "" || len(fs.Args()) > 0 {
		fmt.Fprintln(app.stderr, "Usage: opsdojo user reset-password [--password-stdin] EMAIL  (one email)")
		return errUsage
	}
	var password string
	if *pwStdin {
		var err error
		if password, err = readPassword(app); err != nil {
			return err
		}
		if password == "" {
			return errors.New("the password on standard input is empty (leave out --password-stdin to have one generated)")
		}
	}
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}
	st, err := cf.openMigrated(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	u, generated, revoked, err := accounts.New(st, accounts.Config{}, log, time.Now).ResetPassword(ctx, email, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "reset the password of %s %s (%s); %d session(s) signed out\n", u.Role, u.Email, u.ID, revoked)
	if generated != "" {
		fmt.Fprintf(app.stdout, "new password (shown once, give it to the user over a safe channel): %s\n", generated)
	}
	return nil
}
