package orchestrator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// selfOwner is this process as the owner of the FIFO folders it makes.
func selfOwner() (owner, error) {
	pid := os.Getpid()
	start, _, err := procStart(pid)
	if err != nil {
		return owner{}, err
	}
	// "pid:[4026531836]"
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return owner{}, err
	}
	inode, ok := strings.CutPrefix(link, "pid:[")
	inode, ok2 := strings.CutSuffix(inode, "]")
	ns, err := strconv.ParseUint(inode, 10, 64)
	if !ok || !ok2 || err != nil {
		return owner{}, fmt.Errorf("pid namespace %q: not understood", link)
	}
	return owner{pid: pid, start: start, ns: ns}, nil
}

// procStart reads when process pid started (field 22 of /proc/PID/stat, in
// clock ticks since boot) and whether it is a zombie, which will never run
// again. The error wraps fs.ErrNotExist when there is no such process.
func procStart(pid int) (start uint64, zombie bool, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// pid (comm) state ppid ...: comm may hold anything; it ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false, errors.New("/proc stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, false, errors.New("/proc stat: too few fields")
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("/proc stat: start time: %w", err)
	}
	return start, f[0] == "Z" || f[0] == "X", nil
}
