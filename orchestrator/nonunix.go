//go:build !unix

package orchestrator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// errNotUnix is why nothing streams here: ffmpeg is fed through named pipes
// and stopped through signals to its process group, which only unix has.
var errNotUnix = fmt.Errorf("livepush needs Linux or another unix (named pipes, process groups), not %s: %w",
	runtime.GOOS, errors.ErrUnsupported)

func mkfifo(string, uint32) error { return errNotUnix }

func signalGroup(*os.Process, syscall.Signal) error { return errNotUnix }

func fileUID(fs.FileInfo) (int, bool) { return 0, false }

func setProcAttr(*exec.Cmd) {}
