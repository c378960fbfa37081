package registrytest

// PID is the registry process's id, for tests that check it is gone.
func PID(r *Registry) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}
