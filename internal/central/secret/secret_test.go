package secret

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newBox(t *testing.T) (*Box, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), KeyFile)
	box, created, err := Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("Load did not report creating the key")
	}
	return box, path
}

func TestLoadCreatesAPrivateKeyOnce(t *testing.T) {
	box, path := newBox(t)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || info.Size() != KeySize {
		t.Errorf("key file mode %v size %d, want 0600 and %d bytes", info.Mode().Perm(), info.Size(), KeySize)
	}
	ct, err := box.Seal("hunter2", "ctx")
	if err != nil {
		t.Fatal(err)
	}
	again, created, err := Load(path, true)
	if err != nil || created {
		t.Fatalf("second Load: created=%v err=%v", created, err)
	}
	if got, err := again.Open(ct, "ctx"); err != nil || got != "hunter2" {
		t.Fatalf("the reloaded key does not open what the first sealed: %q %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only the key (temporary files removed)", len(entries))
	}
}

func TestLoadWithoutCreateNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mounted", "key")
	_, _, err := Load(path, false)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("missing key: %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("Load created a key it was told not to")
	}
}

func TestLoadAcceptsBase64AndRefusesBadKeys(t *testing.T) {
	dir := t.TempDir()
	raw := []byte("0123456789abcdef0123456789abcdef")
	b64 := filepath.Join(dir, "b64")
	if err := os.WriteFile(b64, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rawPath := filepath.Join(dir, "raw")
	if err := os.WriteFile(rawPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	a, _, err := Load(b64, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Load(rawPath, false)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := a.Seal("s3cret", "x")
	if got, err := b.Open(ct, "x"); err != nil || got != "s3cret" {
		t.Errorf("base64 and raw forms of one key differ: %q %v", got, err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(short, true); err == nil || !strings.Contains(err.Error(), short) || !strings.Contains(err.Error(), "32") {
		t.Errorf("short key: %v", err)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	box, _ := newBox(t)
	for _, plain := range []string{"p", "pässwörd with ünïcode", strings.Repeat("x", 1<<16), `{"type":"service_account"}`} {
		ct, err := box.Seal(plain, "imageintegration/1/password")
		if err != nil {
			t.Fatal(err)
		}
		// Short plaintexts occur in random base64 by chance; longer ones do not.
		if !strings.HasPrefix(ct, Prefix) || (len(plain) >= 8 && strings.Contains(ct, plain)) {
			t.Fatalf("ciphertext %q is not v1 or shows the plaintext", ct[:min(len(ct), 40)])
		}
		got, err := box.Open(ct, "imageintegration/1/password")
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	a, _ := box.Seal("same", "c")
	b, _ := box.Seal("same", "c")
	if a == b {
		t.Error("two seals of one plaintext are equal: the nonce is not random")
	}
	if ct, err := box.Seal("", "c"); err != nil || ct != "" {
		t.Errorf("empty secret sealed to %q, %v", ct, err)
	}
	if pt, err := box.Open("", "c"); err != nil || pt != "" {
		t.Errorf("empty ciphertext opened to %q, %v", pt, err)
	}
}

func TestOpenDetectsTampering(t *testing.T) {
	box, path := newBox(t)
	const plain = "registry-password-123"
	ct, err := box.Seal(plain, "imageintegration/a/password")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, Prefix))
	otherBox, _ := newBox(t)

	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return Prefix + base64.StdEncoding.EncodeToString(b)
	}
	for name, tc := range map[string]struct {
		box     *Box
		ct, ctx string
		want    string
	}{
		"nonce bit":        {box, flip(0), "imageintegration/a/password", "authentication failed"},
		"ciphertext bit":   {box, flip(len(raw) / 2), "imageintegration/a/password", "authentication failed"},
		"tag bit":          {box, flip(len(raw) - 1), "imageintegration/a/password", "authentication failed"},
		"other field":      {box, ct, "imageintegration/a/ecr.secretAccessKey", "authentication failed"},
		"other object":     {box, ct, "imageintegration/b/password", "authentication failed"},
		"other key":        {otherBox, ct, "imageintegration/a/password", "authentication failed"},
		"truncated":        {box, Prefix + base64.StdEncoding.EncodeToString(raw[:10]), "imageintegration/a/password", "truncated"},
		"bad base64":       {box, Prefix + "!!!", "imageintegration/a/password", "base64"},
		"plaintext stored": {box, plain, "imageintegration/a/password", "not an encrypted value"},
		"future version":   {box, "v2:" + strings.TrimPrefix(ct, Prefix), "imageintegration/a/password", `"v2" is not supported`},
	} {
		got, err := tc.box.Open(tc.ct, tc.ctx)
		if err == nil {
			t.Errorf("%s: opened to %q", name, got)
			continue
		}
		if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.ctx) {
			t.Errorf("%s: error %q, want ErrDecrypt naming %s and saying %q", name, err, tc.ctx, tc.want)
		}
		if strings.Contains(err.Error(), plain) || strings.Contains(err.Error(), "registry-password") {
			t.Errorf("%s: error reveals the plaintext: %v", name, err)
		}
	}
	if _, err := box.Open(flip(3), "imageintegration/a/password"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("authentication failure %v does not name the key file %s", err, path)
	}
}
