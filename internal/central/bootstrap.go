package central

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/central/store"
)

// Settings keys owned by Central's composition root.
const (
	adminHashSetting = "auth/admin-password-bcrypt"
)

// PasswordFile is the admin password file in the data directory, written
// at first start with mode 0600.
const PasswordFile = "admin-password"

// firstStart is what bootstrapping created, for the banner.
type firstStart struct {
	password string // the generated password, "" when it came from the environment
	fromEnv  bool
}

// bootstrap prepares an empty store: the admin password and the built-in
// policies, in one transaction so that a failed first start leaves nothing
// half done. It returns nil when the store was already initialized, and the
// admin password hash either way.
func bootstrap(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) (*firstStart, string, error) {
	hash, ok, err := st.GetSetting(ctx, adminHashSetting)
	if err != nil {
		return nil, "", fmt.Errorf("read admin password: %w", err)
	}
	if ok {
		return nil, hash, addNewBuiltins(ctx, st, log)
	}
	fst := &firstStart{fromEnv: cfg.AdminPassword != ""}
	password := cfg.AdminPassword
	if password == "" {
		if password, err = auth.GeneratePassword(); err != nil {
			return nil, "", err
		}
		fst.password = password
	}
	if hash, err = auth.HashPassword(password); err != nil {
		return nil, "", fmt.Errorf("set admin password: %w", err)
	}
	recs, err := builtinRecords()
	if err != nil {
		return nil, "", err
	}
	seen, err := seenIDs(recs)
	if err != nil {
		return nil, "", err
	}
	if !fst.fromEnv {
		// Written before the commit: if the commit fails, the next start
		// generates another password and replaces the file.
		path := filepath.Join(cfg.DataDir, PasswordFile)
		if err := certs.WriteFileAtomic(path, []byte(password+"\n"), 0o600); err != nil {
			return nil, "", fmt.Errorf("save admin password: %w", err)
		}
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if _, ok, err := tx.GetSetting(ctx, adminHashSetting); err != nil || ok {
			if ok {
				return errConcurrentBootstrap
			}
			return err
		}
		if err := tx.ImportPolicies(ctx, recs, false); err != nil {
			return fmt.Errorf("load built-in policies: %w", err)
		}
		if err := tx.SetSetting(ctx, builtinSeenSetting, seen); err != nil {
			return err
		}
		return tx.SetSetting(ctx, adminHashSetting, hash)
	})
	if errors.Is(err, errConcurrentBootstrap) {
		// Another Central on the same database initialized it first; its
		// password is the one that counts.
		log.Warn("store initialized by another Central; the admin password file may be stale", "path", filepath.Join(cfg.DataDir, PasswordFile))
		hash, _, err = st.GetSetting(ctx, adminHashSetting)
		return nil, hash, err
	}
	if err != nil {
		return nil, "", fmt.Errorf("initialize store: %w", err)
	}
	log.Info("store initialized", "builtin_policies", len(recs), "admin_password_from_env", fst.fromEnv)
	return fst, hash, nil
}

var errConcurrentBootstrap = errors.New("store initialized concurrently")

// ensureDataDir creates the data directory private to its owner.
func ensureDataDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// The umask can only remove permission bits: the directory is
		// private to its owner whatever it is.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	return nil
}
