package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// AdminUser is the name of the built-in user.
const AdminUser = "admin"

// passwordCost is the bcrypt cost of the admin password hash.
const passwordCost = 11

// minPasswordLen and maxPasswordLen bound an admin password: bcrypt reads
// at most 72 bytes, and longer passwords would be silently truncated.
const (
	minPasswordLen = 8
	maxPasswordLen = 72
)

// GeneratePassword returns a random password of 32 URL-safe characters
// (24 bytes from crypto/rand).
func GeneratePassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	switch {
	case len(password) < minPasswordLen:
		return "", fmt.Errorf("admin password is %d characters long; at least %d are required", len(password), minPasswordLen)
	case len(password) > maxPasswordLen:
		return "", fmt.Errorf("admin password is %d bytes long; at most %d are allowed", len(password), maxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// TokenPrefix starts every API token.
const TokenPrefix = "stk_"

// NewToken returns a fresh token id, the full token to hand to its owner
// ("stk_<id>_<secret>") and the hash of its secret, the only part stored.
func NewToken() (id, token string, secretHash []byte, err error) {
	idBytes := make([]byte, 12)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return "", "", nil, fmt.Errorf("generate token id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return "", "", nil, fmt.Errorf("generate token secret: %w", err)
	}
	id = hex.EncodeToString(idBytes)
	enc := base64.RawURLEncoding.EncodeToString(secret)
	return id, TokenPrefix + id + "_" + enc, HashSecret(enc), nil
}

// HashSecret is the stored form of a token secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

var errMalformedToken = errors.New("malformed API token")

// ParseToken splits "stk_<id>_<secret>". The id is hex, so the first
// underscore after the prefix ends it; the secret may contain underscores.
func ParseToken(token string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", "", errMalformedToken
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" || len(id) > 64 || len(secret) > 256 {
		return "", "", errMalformedToken
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", errMalformedToken
	}
	return id, secret, nil
}

// secretMatches compares a presented secret with a stored hash in constant
// time.
func secretMatches(secret string, stored []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), stored) == 1
}
