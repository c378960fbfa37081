package manifest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Load reads every path — a file, a directory walked recursively for
// *.yaml, *.yml and *.json (skipping directories whose name starts with a
// dot), or "-" for stdin — and returns the workloads in input order: the
// order of paths, and within a directory the lexical order a depth-first
// walk gives. Directories are listed and files read and decoded in
// parallel; the result does not depend on the scheduling. The first error
// in input order is returned.
func Load(ctx context.Context, paths []string, stdin io.Reader) (*Result, error) {
	roots, err := rootTasks(paths, stdin)
	if err != nil {
		return nil, err
	}
	q := newQueue(roots)
	workers := runtime.GOMAXPROCS(0)
	done := make([][]result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newParser()
			for {
				t, ok := q.pop()
				if !ok {
					return
				}
				if ctx.Err() == nil {
					done[w] = append(done[w], p.run(t, q)...)
				}
				q.finish()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load manifests: %w", err)
	}
	var results []result
	for _, r := range done {
		results = append(results, r...)
	}
	slices.SortFunc(results, func(a, b result) int {
		return cmp.Or(cmp.Compare(a.arg, b.arg), comparePaths(a.name, b.name))
	})
	parts := make([]part, len(results))
	for i := range results {
		if results[i].part.err != nil {
			return nil, results[i].part.err
		}
		parts[i] = results[i].part
	}
	return assemble(parts), nil
}

// task is a file or directory to read, from the path argument arg.
type task struct {
	arg  int
	name string
	dir  bool
	data []byte // stdin's content, already read
}

// result is what one input (or a directory that could not be listed) gave.
type result struct {
	arg  int
	name string
	part part
}

// rootTasks checks the path arguments in order and reads stdin, so that a
// missing path fails before any work starts.
func rootTasks(paths []string, stdin io.Reader) ([]task, error) {
	var tasks []task
	stdinRead := false
	for i, p := range paths {
		if p == Stdin {
			if stdinRead {
				return nil, errors.New("read manifests: stdin (-) is given twice")
			}
			if stdin == nil {
				return nil, errors.New("read manifests: no stdin to read")
			}
			stdinRead = true
			data, err := readLimited(stdin, 0)
			if err != nil {
				return nil, errorFor(Stdin, err)
			}
			tasks = append(tasks, task{arg: i, name: Stdin, data: data})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
		tasks = append(tasks, task{arg: i, name: p, dir: info.IsDir()})
	}
	return tasks, nil
}

// run reads one file, or lists one directory and queues its entries.
func (p *parser) run(t task, q *queue) []result {
	if !t.dir {
		data := t.data
		if data == nil {
			var err error
			if data, err = readFile(t.name, p.buf); err != nil {
				return []result{{arg: t.arg, name: t.name, part: part{err: errorFor(t.name, err)}}}
			}
			p.buf = data[:0] // parse copies what it keeps
		}
		return []result{{arg: t.arg, name: t.name, part: p.parse(t.name, data)}}
	}
	entries, err := readDir(t.name)
	if err != nil {
		return []result{{arg: t.arg, name: t.name, part: part{err: fmt.Errorf("read manifests: %w", err)}}}
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && !strings.HasPrefix(name, "."):
			q.push(task{arg: t.arg, name: filepath.Join(t.name, name), dir: true})
		case !e.IsDir() && isManifestName(name):
			q.push(task{arg: t.arg, name: filepath.Join(t.name, name)})
		}
	}
	return nil
}

func readDir(name string) ([]os.DirEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	entries, err := f.ReadDir(-1) // unsorted: results are sorted at the end
	_ = f.Close()                 // opened read-only: closing cannot lose data
	return entries, err
}

// comparePaths orders paths as a depth-first walk in lexical order visits
// them: the separator sorts before every other byte, so "a/b/c" comes
// before "a/b.yaml" exactly when directory "b" sorts before "b.yaml".
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == os.PathSeparator {
			return -1
		}
		if cb == os.PathSeparator {
			return 1
		}
		return cmp.Compare(ca, cb)
	}
	return cmp.Compare(len(a), len(b))
}

// queue is an unbounded work queue that knows when all work is done: a
// directory task adds tasks while it runs.
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	tasks   []task
	pending int // queued or running
}

func newQueue(tasks []task) *queue {
	q := &queue{tasks: slices.Clone(tasks), pending: len(tasks)}
	q.cond.L = &q.mu
	return q
}

func (q *queue) push(t task) {
	q.mu.Lock()
	q.tasks = append(q.tasks, t)
	q.pending++
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a task; it reports false when no task is left to come.
func (q *queue) pop() (task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.tasks) == 0 && q.pending > 0 {
		q.cond.Wait()
	}
	if len(q.tasks) == 0 {
		return task{}, false
	}
	t := q.tasks[len(q.tasks)-1]
	q.tasks = q.tasks[:len(q.tasks)-1]
	return t, true
}

// finish marks a popped task done.
func (q *queue) finish() {
	q.mu.Lock()
	q.pending--
	last := q.pending == 0
	q.mu.Unlock()
	if last {
		q.cond.Broadcast()
	}
}
