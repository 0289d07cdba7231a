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

func runUser(ctx context.Context, app *cli, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(app.stderr, "Usage: opsdojo user create --role ROLE --email EMAIL [--name NAME] --password-stdin")
		return errUsage
	}
	fs := newFlagSet(app, "user create", "user create --role ROLE --email EMAIL [--name NAME] --password-stdin")
	cf := addCommonFlags(fs)
	role := fs.String("role", "candidate", "candidate, manager, author or admin")
	email := fs.String("email", "", "the user's email (their login)")
	name := fs.String("name", "", "display name")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if !*pwStdin {
		return errors.New("--password-stdin is required (passwords are never taken from flags, which show in process lists)")
	}
	line, err := bufio.NewReader(app.stdin).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("no password on standard input")
	}
	password := strings.TrimRight(line, "\r\n")
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}
	st, err := cf.openMigrated(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := accounts.New(st, accounts.Config{}, log, time.Now).CreateUser(ctx, accounts.NewUser{Email: *email, Name: *name, Password: password, Role: *role})
	if err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}
