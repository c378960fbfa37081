//go:build unix

package manifest

import (
	"io/fs"
	"syscall"
)

// readFile reads a whole file with four system calls (open, fstat, read,
// close) where os.ReadFile makes six; on the virtual machines CI runs on
// a system call costs microseconds, and a corpus has hundreds of files.
//
// The contents go into buf when it is large enough.
func readFile(name string, buf []byte) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	// Opened read-only: closing cannot lose data, so its error is dropped.
	defer func() { _ = syscall.Close(fd) }()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return readOther(name) // a FIFO, a device, a directory
	}
	if st.Size > MaxInputSize {
		return nil, ErrTooLarge
	}
	if int64(cap(buf)) >= st.Size {
		buf = buf[:st.Size]
	} else {
		buf = make([]byte, st.Size)
	}
	for n := 0; n < len(buf); {
		k, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if k == 0 {
			return buf[:n], nil // the file shrank meanwhile
		}
		n += k
	}
	return buf, nil
}
