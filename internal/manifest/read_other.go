package manifest

import "os"

// readOther reads any file the portable way, through a size limit.
func readOther(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	var size int64
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	data, err := readLimited(f, size)
	_ = f.Close() // opened read-only: closing cannot lose data
	return data, err
}
