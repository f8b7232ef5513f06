//go:build !linux

package orchestrator

import "errors"

var errNoProc = errors.New("no /proc to tell a process's start time")

// selfOwner fails where /proc cannot tell a process's start time: folders
// are then named without an owner, and none is ever taken for stale.
func selfOwner() (owner, error) { return owner{}, errNoProc }

func procStart(int) (uint64, bool, error) { return 0, false, errNoProc }
