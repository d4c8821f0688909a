package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/oauth2"
)

// Store keeps the tokens of OAuth2 accounts in Dir (state_dir/oauth): one
// file NAME.json per account holding the JSON of an oauth2.Token
// (access_token, token_type, refresh_token, expiry).
//
// The files hold what amounts to the account's password, so they are mode
// 0600 in a directory of mode 0700, and they are replaced atomically (temp
// file in the same directory, fsync, rename, fsync of the directory): a
// crash or a full disk leaves the old token or the new one, never half a
// file, and a concurrent reader (another mdsync process) never sees a torn
// write.
type Store struct{ Dir string }

// path returns the token file of account. Account names come from the
// configuration; one that could leave Dir or hide the file is refused.
func (s Store) path(account string) (string, error) {
	if s.Dir == "" {
		return "", errors.New("no OAuth2 token directory is set")
	}
	if account == "" || strings.HasPrefix(account, ".") || strings.ContainsAny(account, "/\\\x00") {
		return "", fmt.Errorf("account name %q cannot name a token file", account)
	}
	return filepath.Join(s.Dir, account+".json"), nil
}

// Load returns the stored token of account. When there is none the error
// wraps os.ErrNotExist; when the file does not parse it wraps a
// *DamagedError.
func (s Store) Load(account string) (*oauth2.Token, error) {
	path, err := s.path(account)
	if err != nil {
		return nil, fmt.Errorf("load the OAuth2 token of %s: %w", account, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load the OAuth2 token of %s: %w", account, err)
	}
	var t oauth2.Token
	if err := json.Unmarshal(b, &t); err != nil {
		// The JSON error names a position and a type, not the content.
		return nil, fmt.Errorf("load the OAuth2 token of %s: %w", account, &DamagedError{Path: path, Err: err})
	}
	t.ExpiresIn = 0
	return &t, nil
}

// DamagedError is a token file that is not the JSON of a token.
type DamagedError struct {
	Path string
	Err  error
}

func (e *DamagedError) Error() string { return fmt.Sprintf("%s is damaged: %v", e.Path, e.Err) }
func (e *DamagedError) Unwrap() error { return e.Err }

// Save stores t as the token of account, replacing the previous one
// atomically. Only the fields that mean something later are kept; the
// relative expires_in of the wire format is dropped for the absolute
// expiry.
func (s Store) Save(account string, t *oauth2.Token) error {
	if err := s.save(account, t); err != nil {
		return fmt.Errorf("save the OAuth2 token of %s: %w", account, err)
	}
	return nil
}

func (s Store) save(account string, t *oauth2.Token) error {
	path, err := s.path(account)
	if err != nil {
		return err
	}
	if t == nil {
		return errors.New("no token to save")
	}
	b, err := json.MarshalIndent(&oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		Expiry:       t.Expiry,
	}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	// MkdirAll leaves an existing directory as it is; this one holds
	// secrets, so tighten it.
	if err := os.Chmod(s.Dir, 0o700); err != nil {
		return err
	}
	return writeAtomic(s.Dir, path, b)
}

// writeAtomic replaces path (in dir) with data: temp file, fsync, rename,
// fsync of dir. The temp file is removed on any failure.
func writeAtomic(dir, path string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
