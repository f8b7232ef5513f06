package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// The flag package's messages for a command line it cannot parse.
const (
	errUndefined = "flag provided but not defined: -"
	errNoValue   = "flag needs an argument: -"
	errBadValue  = "invalid value "
	errBadBool   = "invalid boolean value "
)

// explainUsage turns the flag package's message about args into one line
// that names the flag as it was typed, suggests the nearest defined flag
// for an unknown one and says where the help is. Other messages are
// returned as they are.
func explainUsage(app *cli.App, args []string, msg string) string {
	var name, what, hint string
	switch {
	case strings.HasPrefix(msg, errUndefined):
		name = strings.TrimPrefix(msg, errUndefined)
	case strings.HasPrefix(msg, errNoValue):
		name, what = strings.TrimPrefix(msg, errNoValue), "needs a value"
	case strings.HasPrefix(msg, errBadValue), strings.HasPrefix(msg, errBadBool):
		// invalid value "abc" for flag -fps: parse error
		// invalid boolean value "maybe" for -realtime: parse error
		value, rest, ok := cutQuoted(msg)
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, " for "), "flag ")
		if !ok || !strings.HasPrefix(rest, "-") {
			return msg
		}
		name, _, _ = strings.Cut(rest[1:], ":")
		what = "value " + value
		if strings.HasPrefix(msg, errBadBool) {
			hint = " (want true or false)"
		}
	default:
		return msg
	}
	typed, at := typedFlag(args, name)
	cmd := commandBefore(app, args, at)
	help := "livepush --help"
	flags := app.Flags
	if cmd != nil {
		help = "livepush " + cmd.Name + " --help"
		flags = cmd.Flags
	}
	switch {
	case what == "needs a value":
		return fmt.Sprintf("flag %s needs a value; see '%s'", typed, help)
	case what != "":
		return fmt.Sprintf("invalid %s for %s%s; see '%s'", what, typed, hint, help)
	}
	names := []string{"help", "h"}
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf("unknown flag %s (did you mean %s?); see '%s'", typed, dashed(s), help)
	}
	return fmt.Sprintf("unknown flag %s; see '%s'", typed, help)
}

// unknownCommand is the line for a command name that is not one.
func unknownCommand(app *cli.App, name string) string {
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Names()...)
	}
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf("unknown command %q (did you mean %s?); see 'livepush --help'", name, s)
	}
	return fmt.Sprintf("unknown command %q; see 'livepush --help'", name)
}

// cutQuoted returns the first Go-quoted string in s and what follows it.
func cutQuoted(s string) (quoted, rest string, ok bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", s, false
	}
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return s[i : j+1], s[j+1:], true
		}
	}
	return "", s, false
}

// typedFlag finds flag name in args as the user typed it (-name, --name,
// --name=value) and returns that spelling, without any value, and its index
// in args; or the conventional spelling and -1.
func typedFlag(args []string, name string) (string, int) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		dashes := len(a) - len(strings.TrimLeft(a, "-"))
		if dashes < 1 || dashes > 2 {
			continue
		}
		if n, _, _ := strings.Cut(a[dashes:], "="); n == name {
			return a[:dashes] + name, i
		}
	}
	return dashed(name), -1
}

// commandBefore is the command named in args before index at (all of args
// when at is -1), or nil: a flag after "stream" is one of stream's.
func commandBefore(app *cli.App, args []string, at int) *cli.Command {
	if at < 0 {
		at = len(args)
	}
	for i := 1; i < at && i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			// The app's own flags take no values: this is the command.
			return app.Command(args[i])
		}
	}
	return nil
}

// dashed spells a flag name as it is written: -o, --output.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// suggest is the candidate nearest to typed: at most two edits away, and
// not more edits than half its length (no -o for -x), or else the only
// candidate that typed begins; "" when there is none.
func suggest(typed string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(typed, c); d < bestD && 2*d <= len(typed) {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	var prefixed []string
	for _, c := range candidates {
		if strings.HasPrefix(c, typed) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// neighbours that turn a into b (optimal string alignment distance).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
