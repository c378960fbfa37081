// Package pgtest starts a private PostgreSQL cluster for tests, from the
// binaries of the Debian postgresql package, and hands each test a fresh
// database in it.
//
// One cluster serves a whole test binary: it starts on the first NewDatabase
// call and stops when the TestMain built around Main returns. It runs with
// fsync off, listens on a Unix socket in its temporary directory and on a
// free 127.0.0.1 port, trusts local connections, and runs as the postgres
// system user when the test runs as root (initdb refuses root). It is the
// postgres child process of the test binary, killed if the binary dies, so a
// crashed or timed-out test run leaves no server behind.
//
// Without PostgreSQL installed, NewDatabase skips the test, or fails it when
// STOCKADE_REQUIRE_POSTGRES=1 (as CI sets it).
//
// Usage:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.NewDatabase(t) // postgres://…
//		…
//	}
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// NotInstalled is the message a test skips (or fails) with when PostgreSQL is
// missing.
const NotInstalled = "PostgreSQL not installed: apt-get install -y postgresql"

// RequireEnv, set to 1, turns "PostgreSQL not installed" from a skip into a
// failure.
const RequireEnv = "STOCKADE_REQUIRE_POSTGRES"

// binGlob finds the Debian package's server binaries, newest version last.
const binGlob = "/usr/lib/postgresql/*/bin"

// shared is the cluster of this test binary. It is the package's one piece of
// mutable state: NewDatabase(t) has nowhere else to find the cluster Main
// owns. Main sets main; the first NewDatabase starts the cluster.
var shared struct {
	mu      sync.Mutex
	main    bool
	started bool
	c       *Cluster
	err     error
	next    int
}

// Main runs the tests of m and stops the shared cluster, if one was started,
// before exiting. Call it from TestMain.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	c := shared.c
	shared.c, shared.started = nil, false
	shared.mu.Unlock()
	if c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	os.Exit(code)
}

// NewDatabase creates an empty database in the shared cluster and returns its
// DSN (postgres://…@127.0.0.1:port/name?sslmode=disable). The database is
// dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := sharedCluster(t)
	shared.mu.Lock()
	shared.next++
	name := fmt.Sprintf("t%d_%s", shared.next, dbNameSafe(t.Name()))
	shared.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c.DSN(name)
}

// sharedCluster returns the running shared cluster, starting it on first use,
// or ends the test: skipped when PostgreSQL is not installed (failed under
// STOCKADE_REQUIRE_POSTGRES=1), failed when it will not start.
func sharedCluster(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("pgtest: the test binary's TestMain must call pgtest.Main(m), which stops the cluster at exit")
	}
	if !shared.started {
		shared.started = true
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		shared.c, shared.err = Start(ctx, "")
		cancel()
	}
	switch {
	case errors.Is(shared.err, ErrNotInstalled):
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s (%s=1)", NotInstalled, RequireEnv)
		}
		t.Skip(NotInstalled)
	case shared.err != nil:
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.c
}

var unsafeDBChars = regexp.MustCompile(`[^a-z0-9]+`)

// dbNameSafe turns a test name into a database name fragment: lower-case
// letters, digits and underscores, short enough for PostgreSQL's 63 bytes.
func dbNameSafe(name string) string {
	s := strings.Trim(unsafeDBChars.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return s
}

// ErrNotInstalled reports that no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New(NotInstalled)

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dir     string // temporary directory: data/, the socket, the log
	binDir  string
	port    int
	version string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	admin   *sql.DB
}

// Start initializes and starts a cluster in a new temporary directory under
// parent ("" for the system default), with the newest installed PostgreSQL.
func Start(ctx context.Context, parent string) (*Cluster, error) {
	binDir, version, err := findBinaries(binGlob)
	if err != nil {
		return nil, err
	}
	removeStale(parent)
	dir, err := os.MkdirTemp(parent, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &Cluster{dir: dir, binDir: binDir, version: version}
	if err := c.start(ctx); err != nil {
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, fmt.Errorf("start postgres %s in %s: %w", version, dir, err)
	}
	return c, nil
}

// removeStale deletes the directories of clusters whose test binary was
// killed (the server died with it, the directory stayed): pgtest-* dirs older
// than staleAfter whose postmaster is not running.
func removeStale(parent string) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, err := filepath.Glob(filepath.Join(parent, "pgtest-*"))
	if err != nil {
		return
	}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		if pidFile, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pidFile), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && syscall.Kill(pid, 0) == nil {
				continue // still serving some test binary
			}
		}
		// Best effort: these are other runs' leftovers, and this run does
		// not need them gone.
		_ = os.RemoveAll(d)
	}
}

// staleAfter is how old an abandoned cluster directory must be before
// removeStale deletes it, so a cluster still being initialized is left alone.
const staleAfter = 10 * time.Minute

// findBinaries returns the bin directory, matching glob, of the newest
// installed PostgreSQL that has initdb and postgres.
func findBinaries(glob string) (binDir, version string, err error) {
	dirs, err := filepath.Glob(glob)
	if err != nil {
		return "", "", fmt.Errorf("find postgres binaries %s: %w", glob, err)
	}
	type cand struct {
		dir string
		v   int
	}
	var cands []cand
	for _, d := range dirs {
		if !isExecutable(filepath.Join(d, "initdb")) || !isExecutable(filepath.Join(d, "postgres")) {
			continue
		}
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))) // non-numeric sorts first
		cands = append(cands, cand{d, v})
	}
	if len(cands) == 0 {
		return "", "", ErrNotInstalled
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].v < cands[j].v })
	best := cands[len(cands)-1]
	return best.dir, filepath.Base(filepath.Dir(best.dir)), nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// runAs is the account the server runs as: the current one, or when that is
// root, the postgres system user (nobody if there is none).
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("running as root and neither the postgres nor the nobody user exists to run the server as")
}

func (c *Cluster) start(ctx context.Context) error {
	cred, err := runAs()
	if err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the server user: %w", c.dir, err)
		}
	}
	data := filepath.Join(c.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"), //nolint:gosec // G204: binDir comes from the fixed binGlob, the arguments are our own paths and settings

		"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir = c.dir
	initdb.Env = serverEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, tail(out))
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort(ctx)
		if err != nil {
			return err
		}
		c.port = port
		if lastErr = c.launch(ctx, data, cred); lastErr == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return lastErr
}

// launch runs the postgres server as a child and waits until it accepts
// connections. The server gets SIGQUIT (immediate shutdown) if the test binary
// dies first.
func (c *Cluster) launch(ctx context.Context, data string, cred *syscall.Credential) error {
	logPath := filepath.Join(c.dir, "postgres.log")
	// The server writes the log through the descriptor it inherits, and only
	// this process reads it back: it needs no access beyond ours.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	// Not CommandContext: ctx bounds the start-up only, and the server must
	// outlive it.
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), //nolint:gosec,noctx // G204: binDir comes from the fixed binGlob, the arguments are ours; noctx: the server outlives ctx

		"-D", data,
		"-k", c.dir,
		"-h", "127.0.0.1",
		"-p", strconv.Itoa(c.port),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning",
	)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	startErr := cmd.Start()
	// The child has its own copy of the descriptor; ours only handed it
	// over and was never written to, so closing it cannot lose log lines.
	_ = logFile.Close()
	if startErr != nil {
		return fmt.Errorf("run postgres: %w", startErr)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	cfg, err := pgx.ParseConfig(c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("admin dsn: %w", err)
	}
	admin := stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(4)
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := admin.PingContext(pingCtx)
		cancel()
		if err == nil {
			c.admin = admin
			return nil
		}
		// On failure the pool is dropped: it never reached the server, so
		// closing it has nothing to report beside the error returned.
		select {
		case <-c.exited:
			_ = admin.Close()
			log, _ := os.ReadFile(logPath)
			waitErr := c.waitErr
			if waitErr == nil {
				waitErr = errors.New("exit status 0")
			}
			return fmt.Errorf("postgres exited (%w): %s", waitErr, tail(log))
		case <-deadline.C:
			_ = admin.Close()
			c.kill()
			return fmt.Errorf("postgres not accepting connections on port %d after 60s: %w", c.port, err)
		case <-ctx.Done():
			_ = admin.Close()
			c.kill()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// serverEnv is a minimal environment for the server: no PG* variables of the
// caller leak in.
func serverEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	// Only the number was wanted. Were the port still held, postgres would
	// fail to bind it, and start tries another.
	_ = l.Close()
	return port, nil
}

// tail returns the last lines of a log or command output, for error messages.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	lines := strings.Split(s, "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// DSN returns the TCP DSN of database name, connecting as the superuser.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// SocketDir is the directory holding the server's Unix socket.
func (c *Cluster) SocketDir() string { return c.dir }

// Version is the PostgreSQL major version running.
func (c *Cluster) Version() string { return c.version }

// CreateDatabase creates an empty database; name must be a plain identifier.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops a database, disconnecting anyone still using it.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then kill after 10 s) and
// removes its directory.
func (c *Cluster) Stop() error {
	var errs []error
	if c.admin != nil {
		if err := c.admin.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close admin connections: %w", err))
		}
	}
	if c.cmd != nil && c.cmd.Process != nil {
		// Fast shutdown. A signal that cannot be delivered means the server
		// has exited already; otherwise the timeout below kills it.
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.kill()
			errs = append(errs, errors.New("postgres ignored fast shutdown for 10s; killed"))
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
	}
	return errors.Join(errs...)
}

// kill ends the server and its backends at once.
func (c *Cluster) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	// The server runs as us or, when we are root, as a user root may
	// signal: the kill fails only with ESRCH, when the process group is gone
	// already, and then the wait returns at once.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}
