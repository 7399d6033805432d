package api

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/beacon-edge/beacon/internal/fsutil"
)

// Role is what a token may do. Each role may do what the ones below it may.
type Role int

// The roles, least first.
const (
	Viewer    Role = iota + 1 // reads status, plan, nights, broadcasts, schedules, audit
	Manager                   // also overrides points with an expiry, edits schedules, broadcasts
	Installer                 // also writes raw points (no expiry needed) and reads their priority arrays
)

var roleNames = map[Role]string{Viewer: "viewer", Manager: "manager", Installer: "installer"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole returns the role of that name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q: use viewer, manager or installer", s)
}

// Token is one entry of a tokens file. The token itself is never stored:
// only its SHA-256. A token is 32 random bytes (256 bits), so its hash
// cannot be inverted by guessing, and a slow hash (bcrypt) would add
// nothing but a per-request cost; the comparison is constant-time.
type Token struct {
	Name    string
	Role    Role
	Hash    string // hex SHA-256 of the token
	Created time.Time
}

// tokenPrefix marks Beacon tokens so that they are recognisable in a
// secret scanner or a misplaced paste.
const tokenPrefix = "bcn_"

var tokenNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ErrTokenExists and ErrNoToken are returned by Tokens.Add and Remove.
var (
	ErrTokenExists = errors.New("a token of that name exists")
	ErrNoToken     = errors.New("no token of that name")
)

// Tokens is a tokens file: one token a line, "NAME ROLE sha256:HEX
// CREATED", '#' starts a comment. It is re-read when it changes on disk,
// so `beacon token add` takes effect on a running gateway. Safe for
// concurrent use.
type Tokens struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	tokens  []Token
}

// OpenTokens returns the tokens file at path; it need not exist yet.
func OpenTokens(path string) *Tokens { return &Tokens{path: path} }

// Path is the tokens file's path.
func (t *Tokens) Path() string { return t.path }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// refreshLocked re-reads the file when its size or time changed.
func (t *Tokens) refreshLocked() error {
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.tokens, t.modTime, t.size = nil, time.Time{}, 0
		return nil
	case err != nil:
		return fmt.Errorf("tokens file: %w", err)
	}
	if st.ModTime().Equal(t.modTime) && st.Size() == t.size && t.tokens != nil {
		return nil
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	toks, err := parseTokens(data)
	if err != nil {
		return fmt.Errorf("tokens file %s: %w", t.path, err)
	}
	t.tokens, t.modTime, t.size = toks, st.ModTime(), st.Size()
	return nil
}

func parseTokens(data []byte) ([]Token, error) {
	toks := []Token{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want NAME ROLE sha256:HEX CREATED", n)
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		hash, ok := strings.CutPrefix(f[2], "sha256:")
		if b, err := hex.DecodeString(hash); !ok || err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("line %d: the hash must be sha256: and 64 hex digits", n)
		}
		created, err := time.Parse(time.RFC3339, f[3])
		if err != nil {
			return nil, fmt.Errorf("line %d: created: %w", n, err)
		}
		toks = append(toks, Token{Name: f[0], Role: role, Hash: hash, Created: created})
	}
	return toks, sc.Err()
}

// Lookup returns the entry of a presented token, comparing its hash with
// every entry in constant time.
func (t *Tokens) Lookup(token string) (Token, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return Token{}, false, err
	}
	h := []byte(hashToken(token))
	var found Token
	ok := false
	for _, e := range t.tokens {
		if subtle.ConstantTimeCompare(h, []byte(e.Hash)) == 1 {
			found, ok = e, true
		}
	}
	return found, ok, nil
}

// List returns the entries, in file order.
func (t *Tokens) List() ([]Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return nil, err
	}
	return append([]Token(nil), t.tokens...), nil
}

// Add creates a token for name with role, stores its hash and returns the
// token, which is shown only now.
func (t *Tokens) Add(name string, role Role, now time.Time) (string, error) {
	if !tokenNamePattern.MatchString(name) {
		return "", fmt.Errorf("token name %q: use letters, digits, '.', '_', '@' and '-', up to 64", name)
	}
	if _, ok := roleNames[role]; !ok {
		return "", fmt.Errorf("add token %s: bad role %v", name, role)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return "", err
	}
	for _, e := range t.tokens {
		if e.Name == name {
			return "", fmt.Errorf("add token %s: %w", name, ErrTokenExists)
		}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("add token %s: %w", name, err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	toks := append(append([]Token(nil), t.tokens...), Token{Name: name, Role: role, Hash: hashToken(token), Created: now.UTC().Truncate(time.Second)})
	if err := t.writeLocked(toks); err != nil {
		return "", fmt.Errorf("add token %s: %w", name, err)
	}
	return token, nil
}

// Remove deletes the token of that name.
func (t *Tokens) Remove(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return err
	}
	var keep []Token
	for _, e := range t.tokens {
		if e.Name != name {
			keep = append(keep, e)
		}
	}
	if len(keep) == len(t.tokens) {
		return fmt.Errorf("remove token %s: %w", name, ErrNoToken)
	}
	if err := t.writeLocked(keep); err != nil {
		return fmt.Errorf("remove token %s: %w", name, err)
	}
	return nil
}

func (t *Tokens) writeLocked(toks []Token) error {
	var b strings.Builder
	b.WriteString("# Beacon API tokens: NAME ROLE sha256:HASH CREATED. Managed by `beacon token`; the tokens themselves are not kept.\n")
	for _, e := range toks {
		fmt.Fprintf(&b, "%s %s sha256:%s %s\n", e.Name, e.Role, e.Hash, e.Created.UTC().Format(time.RFC3339))
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o750); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(t.path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	t.tokens, t.modTime = toks, time.Time{} // re-stat on next use
	return nil
}
