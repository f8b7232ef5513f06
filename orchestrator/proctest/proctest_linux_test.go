package proctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"unsafe"
)

// TestSelf: what this process knows of itself, read back from /proc.
func TestSelf(t *testing.T) {
	pid := os.Getpid()
	st, err := ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.PPid != os.Getppid() || st.Zombie() || !Alive(pid) {
		t.Errorf("stat %+v, want parent %d and running", st, os.Getppid())
	}
	if got := Cmdline(pid); !slices.Equal(got, os.Args) {
		t.Errorf("cmdline %q, want %q", got, os.Args)
	}
	if c := Comm(pid); c == "" || len(c) > 15 {
		t.Errorf("comm %q", c)
	}
	if env := os.Environ(); len(env) > 0 && !HasEnv(pid, env[0]) {
		t.Errorf("environment lacks %q", env[0])
	}
	if !slices.Contains(Pids(), pid) {
		t.Error("this process is not among Pids")
	}
	name := filepath.Join(t.TempDir(), "open")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if files, err := OpenFiles(pid); err != nil || !slices.Contains(files, name) {
		t.Errorf("open files %q (%v) lack %s", files, err, name)
	}
	if _, err := AnonHugeKB(); err != nil {
		t.Error(err)
	}
	var x [64]byte
	if _, err := MappingAnonHugeKB(uintptr(unsafe.Pointer(&x[0]))); err != nil {
		t.Error(err)
	}
	if _, err := MappingAnonHugeKB(0); err == nil {
		t.Error("a mapping holds address 0")
	}
}

// TestChild: a child's parent, environment and, once it has ended unreaped,
// its zombie state; once reaped, it is gone.
func TestChild(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "read x")
	cmd.Env = []string{"PROCTEST=1"}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if st, err := ReadStat(pid); err != nil || st.PPid != os.Getpid() {
		t.Errorf("child stat %+v, %v", st, err)
	}
	if !HasEnv(pid, "PROCTEST=1") || HasEnv(pid, "PROCTEST=") {
		t.Error("the child's environment is not read exactly")
	}
	in.Close()
	// Wait for the exit without reaping the child (WNOWAIT): a zombie.
	var info [128]byte // siginfo_t
	const pPID, wExited, wNoWait = 1, 4, 0x1000000
	if _, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), wExited|wNoWait, 0, 0); e != 0 {
		t.Fatal(e)
	}
	if st, err := ReadStat(pid); err != nil || !st.Zombie() || Alive(pid) {
		t.Errorf("ended child: stat %+v, %v; want a zombie", st, err)
	}
	cmd.Wait()
	if _, err := ReadStat(pid); !os.IsNotExist(err) {
		t.Errorf("reaped child: %v, want not exist", err)
	}
}
