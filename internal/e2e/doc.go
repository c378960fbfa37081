// Package e2e holds Stockade's end-to-end tests of a secured cluster: a real
// kube-apiserver (k8stest), a real Central started in the test process, the
// stockade-sensor binary built by the test and run as a child process, and
// kubectl driving the cluster as a user would. It is neither Sensor nor
// Central, so it may start both. It has no code of its own besides tests.
package e2e
