// Package secret encrypts the secrets Central keeps at rest — registry
// passwords, cloud keys — with AES-256-GCM under a key held in a file
// outside the database, so that a copy of the database (a backup, a
// PostgreSQL replica) reveals no credential without the key file.
//
// The one idea: a ciphertext is a self-describing string, "v1:" followed by
// the standard base64 of nonce‖ciphertext‖tag, and it is bound to a context
// string (what the secret is, e.g. "imageintegration/ID/password") given as
// GCM's additional data. A ciphertext copied into another field or another
// object does not decrypt, and neither does one altered by a single bit.
//
// The key is 32 random bytes in DIR/secret.key (mode 0600), created at
// first start; an operator may keep it elsewhere (a mounted Kubernetes
// secret) and name it with STOCKADE_SECRET_KEY_FILE. Errors never carry
// the plaintext.
package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the key's file name in Central's data directory.
const KeyFile = "secret.key"

// KeySize is the key length: AES-256.
const KeySize = 32

// Prefix starts every ciphertext of the current format.
const Prefix = "v1:"

// ErrDecrypt marks every decryption failure (errors.Is).
var ErrDecrypt = errors.New("cannot decrypt secret")

// Box seals and opens secrets with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	// path names the key file in errors.
	path string
}

// New returns a Box over a 32-byte key; path names the key's origin in
// errors.
func New(key []byte, path string) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key %s: %d bytes, want %d", path, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return &Box{aead: aead, path: path}, nil
}

// Load reads the key from path, or, when create is true and path does not
// exist, creates it with 32 random bytes and mode 0600. The file holds the
// 32 bytes as they are, or their base64 (what `openssl rand -base64 32`
// writes), optionally followed by a newline. created reports that the
// file was made now.
func Load(path string, create bool) (box *Box, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		data, err = createKey(path)
		if err != nil {
			return nil, false, err
		}
		box, err = New(data, path)
		return box, true, err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("secret key %s does not exist: write 32 random bytes to it (openssl rand -base64 32 > %s) or unset the setting that names it", path, path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("read secret key: %w", err)
	}
	key, err := decodeKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("secret key %s: %w", path, err)
	}
	box, err = New(key, path)
	return box, false, err
}

// decodeKey accepts 32 raw bytes or the base64 of 32 bytes.
func decodeKey(data []byte) ([]byte, error) {
	if len(data) == KeySize {
		return data, nil
	}
	text := bytes.TrimSpace(data)
	if key, err := base64.StdEncoding.DecodeString(string(text)); err == nil && len(key) == KeySize {
		return key, nil
	}
	return nil, fmt.Errorf("holds %d bytes; want %d random bytes, raw or base64-encoded", len(data), KeySize)
}

// createKey writes a fresh key to path without ever replacing a file that
// appeared meanwhile: the key is written to a temporary file and linked into
// place, which fails if path exists (then that file's key is used).
func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // linked or failed: the temporary name goes either way
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(key)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: its key is the one.
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				return nil, fmt.Errorf("read secret key: %w", rerr)
			}
			existing, derr := decodeKey(data)
			if derr != nil {
				return nil, fmt.Errorf("secret key %s: %w", path, derr)
			}
			return existing, nil
		}
		return nil, fmt.Errorf("create secret key %s: %w", path, err)
	}
	return key, nil
}

// Path is where the key came from.
func (b *Box) Path() string { return b.path }

// Seal encrypts plaintext bound to context and returns "v1:" + base64. An
// empty plaintext seals to "" so that an unset secret stays unset.
func (b *Box) Seal(plaintext, context string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt %s: %w", context, err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return Prefix + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a ciphertext made by Seal with the same context. "" opens
// to "". Every failure wraps ErrDecrypt, names the context, and says what
// is wrong without quoting the ciphertext or any part of the plaintext.
func (b *Box) Open(ciphertext, context string) (string, error) {
	if ciphertext == "" {
		return "", nil
	}
	body, ok := strings.CutPrefix(ciphertext, Prefix)
	if !ok {
		version, _, found := strings.Cut(ciphertext, ":")
		if found && len(version) <= 8 && strings.HasPrefix(version, "v") {
			return "", fmt.Errorf("%w %s: format %q is not supported by this Central (it knows %q)", ErrDecrypt, context, version, strings.TrimSuffix(Prefix, ":"))
		}
		return "", fmt.Errorf("%w %s: not an encrypted value (no %q prefix)", ErrDecrypt, context, Prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return "", fmt.Errorf("%w %s: malformed base64", ErrDecrypt, context)
	}
	ns := b.aead.NonceSize()
	if len(raw) < ns+b.aead.Overhead() {
		return "", fmt.Errorf("%w %s: ciphertext is truncated (%d bytes)", ErrDecrypt, context, len(raw))
	}
	plain, err := b.aead.Open(nil, raw[:ns], raw[ns:], []byte(context))
	if err != nil {
		return "", fmt.Errorf("%w %s: authentication failed: the value was altered, belongs to another object, or was encrypted with a key other than %s", ErrDecrypt, context, b.path)
	}
	return string(plain), nil
}
