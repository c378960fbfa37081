package manifest

import "os"

// readOther reads any file the portable way, through a size limit.
func readOther(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return readLimited(f, size)
}
