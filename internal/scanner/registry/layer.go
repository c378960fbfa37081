package registry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/zstd"
)

// LayerRef is one layer of a fetched image.
type LayerRef struct {
	Digest    string // of the blob as stored: "sha256:…"
	Size      int64  // of the blob as stored (compressed)
	MediaType string

	opener *layerOpener
}

// Open downloads the layer and returns its uncompressed tar stream (gzip,
// zstd and uncompressed blobs alike, told apart by their first bytes).
// The blob is checked against its digest and size as it streams: reading
// returns io.EOF only once the whole blob arrived and matched, and an error
// of KindCorrupt when it was cut short or altered. A reader that stops
// early (as a tar reader does at the end-of-archive blocks) learns of a bad
// blob from Close, which reads the rest of the blob to check it.
func (l LayerRef) Open(ctx context.Context) (io.ReadCloser, error) {
	if l.opener == nil {
		return nil, &Error{Kind: KindInvalid, Msg: fmt.Sprintf("layer %s does not belong to a fetched image", l.Digest)}
	}
	return l.opener.open(ctx, l)
}

type layerOpener struct {
	puller *remote.Puller
	repo   name.Repository
	f      failure
	ref    string
}

func (o *layerOpener) open(ctx context.Context, l LayerRef) (io.ReadCloser, error) {
	what := fmt.Sprintf("layer %s of %s", l.Digest, o.ref)
	layer, err := o.puller.Layer(ctx, o.repo.Digest(l.Digest))
	if err != nil {
		return nil, o.f.classify(err, what)
	}
	// The blob stream go-containerregistry returns verifies the digest
	// when it reaches the end.
	blob, err := layer.Compressed()
	if err != nil {
		return nil, o.f.classify(err, what)
	}
	r := &layerReader{blob: blob, counted: &sizeCheck{r: blob, size: l.Size}, f: o.f, what: what}
	br := bufio.NewReaderSize(r.counted, 64<<10)
	magic, _ := br.Peek(4) // a short or failing peek shows up on the first Read
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			_ = blob.Close()
			return nil, r.fail(fmt.Errorf("gzip header: %w", err))
		}
		r.data, r.closeData = gz, func() { _ = gz.Close() }
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			_ = blob.Close()
			return nil, r.fail(fmt.Errorf("zstd: %w", err))
		}
		r.data, r.closeData = zr, zr.Close
	default:
		r.data = br
	}
	return r, nil
}

// zstdMaxWindow bounds the memory a zstd frame may ask for (128 MiB, what
// `zstd --long` uses at most).
const zstdMaxWindow = 128 << 20

// layerReader decompresses a layer blob and makes sure the blob was whole
// before it reports the end.
type layerReader struct {
	blob      io.ReadCloser
	counted   *sizeCheck
	data      io.Reader
	closeData func()
	f         failure
	what      string
	err       error
}

func (r *layerReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.data.Read(p)
	if errors.Is(err, io.EOF) {
		// The tar stream ended; read what is left of the blob so its
		// digest and size are checked before the caller sees the end.
		if _, derr := io.Copy(io.Discard, r.counted); derr != nil {
			err = derr
		} else if derr := r.counted.complete(); derr != nil {
			err = derr
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		r.err = io.EOF
	default:
		r.err = r.fail(err)
	}
	return n, r.err
}

func (r *layerReader) fail(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isNetTimeout(err) {
		return r.f.classify(err, r.what)
	}
	return &Error{Kind: KindCorrupt, Host: r.f.host, Ref: r.f.ref,
		Msg: fmt.Sprintf("%s from registry %s is truncated or corrupted", r.what, r.f.host), Err: err}
}

// Close finishes the digest check when the reader stopped before the end
// (a tar reader stops at the end-of-archive blocks, before the blob's end)
// and reports a bad blob as KindCorrupt, then releases the connection.
func (r *layerReader) Close() error {
	if errors.Is(r.err, errClosed) {
		return nil
	}
	var err error
	switch {
	case r.err != nil && !errors.Is(r.err, io.EOF):
		// Read reported it, but perhaps with the last bytes a reader
		// wanted, and io.ReadFull drops an error that comes with enough
		// bytes: say it again.
		err = r.err
	case r.err == nil:
		if _, derr := io.Copy(io.Discard, r.counted); derr != nil {
			err = r.fail(derr)
		} else if derr := r.counted.complete(); derr != nil {
			err = r.fail(derr)
		}
	}
	r.err = errClosed
	if r.closeData != nil {
		r.closeData()
	}
	if cerr := r.blob.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", r.what, cerr)
	}
	return err
}

var errClosed = errors.New("layer reader closed")

// sizeCheck counts the blob's bytes and fails as soon as there are more
// than the manifest says, so a hostile registry cannot stream forever.
type sizeCheck struct {
	r    io.Reader
	size int64 // from the manifest; <= 0 when unknown
	n    int64
}

func (s *sizeCheck) Read(p []byte) (int, error) {
	if s.size > 0 {
		if left := s.size - s.n + 1; int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.size > 0 && s.n > s.size {
		return n, fmt.Errorf("blob is longer than the %d bytes the manifest says", s.size)
	}
	return n, err
}

// complete reports a blob shorter than the manifest says.
func (s *sizeCheck) complete() error {
	if s.size > 0 && s.n != s.size {
		return fmt.Errorf("blob has %d bytes, the manifest says %d", s.n, s.size)
	}
	return nil
}
