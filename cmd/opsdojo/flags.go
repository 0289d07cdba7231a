package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

var (
	errHelp  = errors.New("help shown")
	errUsage = errors.New("usage error")
)

// flagSet wraps flag.FlagSet so that every flag has an OPSDOJO_* environment
// equivalent: the environment sets the default, the command line wins.
// Help output lists the variable beside each flag.
type flagSet struct {
	fs     *flag.FlagSet
	app    *cli
	envErr []string
}

func newFlagSet(app *cli, name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(app.stderr)
	f := &flagSet{fs: fs, app: app}
	fs.Usage = func() {
		fmt.Fprintf(app.stderr, "Usage: opsdojo %s\n\nFlags (each also settable through the environment variable shown):\n", usage)
		fs.PrintDefaults()
	}
	return f
}

// envName turns a flag name into its environment variable: data-dir -> OPSDOJO_DATA_DIR.
func envName(flagName string) string {
	return "OPSDOJO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) envValue(name string) (string, bool) {
	v := f.app.getenv(envName(name))
	return v, v != ""
}

func (f *flagSet) usageText(name, usage string) string {
	return fmt.Sprintf("%s [$%s]", usage, envName(name))
}

func (f *flagSet) String(name, def, usage string) *string {
	if v, ok := f.envValue(name); ok {
		def = v
	}
	return f.fs.String(name, def, f.usageText(name, usage))
}

func (f *flagSet) Bool(name string, def bool, usage string) *bool {
	if v, ok := f.envValue(name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.envErr = append(f.envErr, fmt.Sprintf("%s=%q is not a boolean (use true or false)", envName(name), v))
		} else {
			def = b
		}
	}
	return f.fs.Bool(name, def, f.usageText(name, usage))
}

func (f *flagSet) Int(name string, def int, usage string) *int {
	if v, ok := f.envValue(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.envErr = append(f.envErr, fmt.Sprintf("%s=%q is not a whole number", envName(name), v))
		} else {
			def = n
		}
	}
	return f.fs.Int(name, def, f.usageText(name, usage))
}

func (f *flagSet) Duration(name string, def time.Duration, usage string) *time.Duration {
	if v, ok := f.envValue(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.envErr = append(f.envErr, fmt.Sprintf("%s=%q is not a duration (for example 30s, 5m, 2h)", envName(name), v))
		} else {
			def = d
		}
	}
	return f.fs.Duration(name, def, f.usageText(name, usage))
}

func (f *flagSet) Float64(name string, def float64, usage string) *float64 {
	if v, ok := f.envValue(name); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.envErr = append(f.envErr, fmt.Sprintf("%s=%q is not a number", envName(name), v))
		} else {
			def = n
		}
	}
	return f.fs.Float64(name, def, f.usageText(name, usage))
}

// Parse parses args; it returns errHelp after printing help for -h, and
// errUsage after printing the problem for a bad flag or environment value.
func (f *flagSet) Parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if len(f.envErr) > 0 {
		for _, e := range f.envErr {
			fmt.Fprintln(f.app.stderr, "opsdojo:", e)
		}
		return errUsage
	}
	return nil
}

func (f *flagSet) Args() []string { return f.fs.Args() }

// isTerminal reports whether w is a character device (used to choose
// human-readable or JSON logs by default).
func isTerminal(w any) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
