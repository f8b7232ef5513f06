// Package proctest reads what tests need to know about processes from
// Linux's /proc: state and parent, command line, environment, open files and
// huge pages. Elsewhere every function returns the error of the missing file.
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stat is what the tests use of /proc/PID/stat.
type Stat struct {
	State byte // R, S, D, Z (zombie), X (dead), ...
	PPid  int
}

// Zombie reports whether the process has ended and waits to be reaped, or is
// dead already: it will never run again.
func (s Stat) Zombie() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

// ReadStat reads the state and parent of pid. The error wraps fs.ErrNotExist
// when there is no such process.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(path(pid, "stat"))
	if err != nil {
		return Stat{}, err
	}
	// pid (comm) state ppid ...: comm may hold anything; it ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("%s: no ')'", path(pid, "stat"))
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return Stat{}, fmt.Errorf("%s: too few fields", path(pid, "stat"))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Stat{}, fmt.Errorf("%s: parent: %w", path(pid, "stat"), err)
	}
	return Stat{State: f[0][0], PPid: ppid}, nil
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	st, err := ReadStat(pid)
	return err == nil && !st.Zombie()
}

// Pids lists the processes this one can see.
func Pids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Comm is pid's command name (its program's base name, cut to 15 bytes), ""
// when there is no such process.
func Comm(pid int) string {
	b, _ := os.ReadFile(path(pid, "comm"))
	return strings.TrimSpace(string(b))
}

// Cmdline is pid's argv; nil for a zombie or when there is no such process.
func Cmdline(pid int) []string {
	argv, _ := nulList(path(pid, "cmdline"))
	return argv
}

// Environ is pid's environment as it was started, "KEY=value" each.
func Environ(pid int) ([]string, error) {
	return nulList(path(pid, "environ"))
}

// HasEnv reports whether pid's environment holds kv ("KEY=value") exactly.
func HasEnv(pid int, kv string) bool {
	env, _ := Environ(pid)
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

// OpenFiles lists what pid's file descriptors name (the targets of
// /proc/PID/fd/*): paths, or "pipe:[N]", "socket:[N]" and the like.
func OpenFiles(pid int) ([]string, error) {
	dir := path(pid, "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil { // closed meanwhile: gone
			out = append(out, l)
		}
	}
	return out, nil
}

// AnonHugeKB is this process's anonymous memory in transparent huge pages,
// in KiB (AnonHugePages of /proc/self/smaps_rollup).
func AnonHugeKB() (int, error) {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, err
	}
	return anonHuge(string(b), "/proc/self/smaps_rollup")
}

// MappingAnonHugeKB is the memory in transparent huge pages, in KiB, of the
// mapping of this process that holds the address addr (from /proc/self/smaps).
func MappingAnonHugeKB(addr uintptr) (int, error) {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	// A mapping is a line "start-end perms ..." followed by "Key: value" lines.
	var in bool
	var block strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && !strings.HasSuffix(f[0], ":") {
			if in {
				break
			}
			lo, hi, ok := strings.Cut(f[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			in = ok && err1 == nil && err2 == nil && uint64(addr) >= start && uint64(addr) < end
			continue
		}
		if in {
			block.WriteString(line + "\n")
		}
	}
	if !in {
		return 0, fmt.Errorf("/proc/self/smaps: no mapping holds %#x", addr)
	}
	return anonHuge(block.String(), "/proc/self/smaps")
}

// anonHuge reads the AnonHugePages line of an smaps text.
func anonHuge(text, name string) (int, error) {
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "AnonHugePages:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, errors.New(name + ": no AnonHugePages")
}

func path(pid int, file string) string { return "/proc/" + strconv.Itoa(pid) + "/" + file }

// nulList reads a file of NUL-terminated strings.
func nulList(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}
