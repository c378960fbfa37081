package auth

import (
	"strings"
	"testing"
	"time"
)

func TestRoleGrants(t *testing.T) {
	for _, tc := range []struct {
		role Role
		perm Permission
		want bool
	}{
		{RoleAdmin, Need(ResourceAPIToken, Write), true},
		{RoleAnalyst, Need(ResourcePolicy, Read), true},
		{RoleAnalyst, Need(ResourceAlert, Read), true},
		{RoleAnalyst, Need(ResourcePolicy, Write), false},
		{RoleAnalyst, Need(ResourceAlert, Write), false},
		{RoleCI, Need(ResourceDetection, Read), true},
		{RoleCI, Need(ResourceImage, Read), true},
		{RoleCI, Need(ResourceImage, Write), true}, // scanning stores the scan
		{RoleCI, Need(ResourceVulnDB, Read), true},
		{RoleCI, Need(ResourceVulnDB, Write), false},
		{RoleCI, Need(ResourceImageIntegration, Read), false},
		{RoleCI, Need(ResourceImageIntegration, Write), false},
		{RoleAnalyst, Need(ResourceImage, Read), true},
		{RoleAnalyst, Need(ResourceImage, Write), false},
		{RoleAnalyst, Need(ResourceImageIntegration, Read), true},
		{RoleAnalyst, Need(ResourceImageIntegration, Write), false},
		{RoleAnalyst, Need(ResourceVulnDB, Write), false},
		{RoleAdmin, Need(ResourceImageIntegration, Write), true},
		{RoleAdmin, Need(ResourceVulnDB, Write), true},
		{RoleCI, Need(ResourcePolicy, Read), true},
		{RoleCI, Need(ResourcePolicy, Write), false},
		{RoleCI, Need(ResourceAlert, Read), false},
		{RoleCI, Need(ResourceAPIToken, Read), false},
		{RoleCI, Authenticated(), true},
		{Role("Nobody"), Authenticated(), false},
		{Role("Nobody"), Need(ResourcePolicy, Read), false},
		{RoleAdmin, Permission{}, false}, // undeclared: refused even to Admin
		{Role(""), Public(), true},
	} {
		if got := tc.role.Allows(tc.perm); got != tc.want {
			t.Errorf("%q.Allows(%s) = %v, want %v", tc.role, tc.perm, got, tc.want)
		}
	}
	if _, err := ParseRole("continuous integration"); err != nil {
		t.Error(err)
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("unknown role parsed")
	}
}

func TestTokens(t *testing.T) {
	id, tok, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "stk_"+id+"_") {
		t.Fatalf("token %q does not start with stk_<id>_", tok)
	}
	gotID, secret, err := ParseToken(tok)
	if err != nil || gotID != id {
		t.Fatalf("ParseToken = %q, %v", gotID, err)
	}
	if len(secret) < 43 { // 32 bytes in unpadded base64url
		t.Errorf("secret has %d characters", len(secret))
	}
	if !secretMatches(secret, hash) || secretMatches(secret+"x", hash) {
		t.Error("secret comparison is wrong")
	}
	if strings.Contains(string(hash), secret) {
		t.Error("the hash contains the secret")
	}
	for _, bad := range []string{"", "stk_", "stk__x", "stk_zz_secret", "tok_00_secret", "stk_00"} {
		if _, _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) succeeded", bad)
		}
	}
	_, tok2, _, _ := NewToken()
	if tok2 == tok {
		t.Error("two tokens are equal")
	}
}

func TestPasswords(t *testing.T) {
	pw, err := GeneratePassword()
	if err != nil || len(pw) < 24 {
		t.Fatalf("GeneratePassword = %q, %v", pw, err)
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("short password accepted")
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("password bcrypt would truncate accepted")
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(3, time.Second)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if !l.Allowed("a", now) {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.Fail("a", now)
	}
	if l.Allowed("a", now) {
		t.Fatal("a fourth attempt within the burst allowed")
	}
	if !l.Allowed("b", now) {
		t.Fatal("another client limited")
	}
	if !l.Allowed("a", now.Add(1100*time.Millisecond)) {
		t.Fatal("no token back after the refill interval")
	}
	// Bounded memory.
	l.maxKeys = 10
	for i := 0; i < 100; i++ {
		l.Fail(string(rune('A'+i)), now)
	}
	if len(l.buckets) > 10 {
		t.Errorf("%d buckets kept, want at most 10", len(l.buckets))
	}
}
