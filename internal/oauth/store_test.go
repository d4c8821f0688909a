package oauth_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mdsync/mdsync/internal/oauth"
)

func TestStoreRoundTrip(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		name string
		tok  oauth2.Token
	}{
		{"full", oauth2.Token{AccessToken: "at-1", TokenType: "Bearer", RefreshToken: "rt-1", Expiry: exp}},
		{"no refresh token", oauth2.Token{AccessToken: "at-2", TokenType: "Bearer", Expiry: exp}},
		{"no expiry", oauth2.Token{AccessToken: "at-3", RefreshToken: "rt-3"}},
		{"refresh token only", oauth2.Token{RefreshToken: "rt-4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			in := tc.tok
			in.ExpiresIn = 3600 // wire-format field: not stored
			if err := st.Save("work", &in); err != nil {
				t.Fatal(err)
			}
			got, err := st.Load("work")
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != tc.tok.AccessToken || got.TokenType != tc.tok.TokenType ||
				got.RefreshToken != tc.tok.RefreshToken || !got.Expiry.Equal(tc.tok.Expiry) || got.ExpiresIn != 0 {
				t.Errorf("Load = %+v, want %+v", got, tc.tok)
			}
		})
	}
}

func TestStoreFileFormat(t *testing.T) {
	st := newStore(t)
	exp := time.Now().Add(time.Hour).Round(time.Second)
	if err := st.Save("work", &oauth2.Token{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", Expiry: exp, ExpiresIn: 3600}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(st.Dir, "work.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"access_token", "expiry", "refresh_token", "token_type"}; !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
}

func TestStoreModesAndAtomicity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
	}{
		{"new directory", func(*testing.T, string) {}},
		{"loose existing directory", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"loose existing file", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "work.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			tc.prepare(t, st.Dir)
			for i := range 3 { // overwrites keep the modes and leave nothing behind
				if err := st.Save("work", &oauth2.Token{AccessToken: "at", RefreshToken: "rt" + string(rune('0'+i))}); err != nil {
					t.Fatal(err)
				}
			}
			assertMode(t, st.Dir, 0o700|os.ModeDir)
			assertMode(t, filepath.Join(st.Dir, "work.json"), 0o600)
			assertEntries(t, st.Dir, "work.json")
			if got, err := st.Load("work"); err != nil || got.RefreshToken != "rt2" {
				t.Errorf("Load = %+v, %v; want the last token", got, err)
			}
		})
	}
}

func TestStoreFailedSaveLeavesNoTempFile(t *testing.T) {
	st := newStore(t)
	// A directory where the file should go makes the rename fail.
	if err := os.MkdirAll(filepath.Join(st.Dir, "work.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := st.Save("work", &oauth2.Token{AccessToken: "at-secret-value", RefreshToken: "rt-secret-value"})
	if err == nil {
		t.Fatal("Save over a directory succeeded")
	}
	noSecrets(t, "Save error", errText(err), "at-secret-value", "rt-secret-value")
	assertEntries(t, st.Dir, "work.json")
}

func TestStoreLoadErrors(t *testing.T) {
	st := newStore(t)
	if _, err := st.Load("nobody"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing token: %v, want os.ErrNotExist", err)
	}
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir, "broken.json"), []byte(`{"access_token": "at-half`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := st.Load("broken")
	var damaged *oauth.DamagedError
	if !errors.As(err, &damaged) {
		t.Errorf("Load of a damaged file: %v, want a *DamagedError", err)
	}
	noSecrets(t, "Load error", errText(err), "at-half")
}

func TestStoreRefusesBadAccountNames(t *testing.T) {
	st := newStore(t)
	for _, name := range []string{"", ".hidden", "..", "../escape", "a/b", `a\b`, "nul\x00"} {
		if err := st.Save(name, &oauth2.Token{RefreshToken: "rt"}); err == nil {
			t.Errorf("Save(%q) succeeded", name)
		}
		if _, err := st.Load(name); err == nil || errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load(%q) = %v, want a refusal", name, err)
		}
	}
	if _, err := os.Stat(filepath.Dir(st.Dir)); err == nil {
		if entries, _ := os.ReadDir(filepath.Dir(st.Dir)); len(entries) > 0 {
			t.Errorf("files created next to the token directory: %v", entries)
		}
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func assertEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, want) {
		t.Errorf("%s holds %v, want %v", dir, names, want)
	}
}
