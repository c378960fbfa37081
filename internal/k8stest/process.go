package k8stest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server the cluster runs as a child of the test binary.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startProcess runs bin with args in dir, its output appended to logPath
// (0600). The child is killed if the test binary dies first, and leads its own
// process group.
func startProcess(bin, logPath, dir string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// Not CommandContext: a start-up context bounds only the start, and the
	// server must outlive it.
	cmd := exec.Command(bin, args...) //nolint:gosec,noctx // G204: binaries found by FindBinaries, arguments are ours; noctx: the server outlives ctx
	cmd.Dir = dir
	// A minimal environment: no ETCD_* or KUBE* settings of the caller leak in.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C"}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	startErr := cmd.Start()
	// The child has its own copy of the descriptor; ours only handed it
	// over and was never written to, so closing it cannot lose log lines.
	_ = logFile.Close()
	if startErr != nil {
		return nil, fmt.Errorf("run %s: %w", bin, startErr)
	}
	p := &process{name: bin, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls ready until it succeeds, the process exits, timeout passes
// or ctx ends.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			waitErr := p.waitErr
			if waitErr == nil {
				waitErr = errors.New("exit status 0")
			}
			return fmt.Errorf("exited during start-up (%w): %s", waitErr, p.tail())
		case <-deadline.C:
			return fmt.Errorf("not ready after %s: %w: %s", timeout, err, p.tail())
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last check: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and waits for the exit, killing the process group after
// grace.
func (p *process) stop(grace time.Duration) error {
	// A signal that cannot be delivered means the process has exited
	// already; otherwise the timeout below kills it.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s ignored SIGTERM for %s; killed", p.name, grace)
	}
}

// kill ends the process group at once and waits for the exit.
func (p *process) kill() {
	// Fails only with ESRCH, when the group is gone already; then the wait
	// returns at once.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// tailLines is how many log lines error messages and LogTails show.
const tailLines = 30

// tail returns the last lines of the process's log.
func (p *process) tail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.Join(lines, "\n")
}

// rss is the process's resident set size in bytes.
func (p *process) rss() (int64, error) {
	path := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status"
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read memory of %s: %w", p.name, err)
	}
	defer func() { _ = f.Close() }() // read only: closing loses nothing
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: VmRSS %q: %w", path, v, err)
			}
			return kb << 10, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no VmRSS", path)
}
