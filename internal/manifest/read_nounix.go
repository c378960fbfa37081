//go:build !unix

package manifest

func readFile(name string) ([]byte, error) { return readOther(name) }
