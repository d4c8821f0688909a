package oauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// minValidity is how long an access token must still be good to be handed
// out: a token that expires during the SASL exchange, or between dial and
// login of a slow connection, would be refused.
const minValidity = time.Minute

// refreshTimeout bounds a refresh when the caller's context has no deadline,
// so a silent provider cannot hang a sync.
const refreshTimeout = 30 * time.Second

// Source hands out the access tokens of one account: the stored one while it
// has more than a minute left, else a refreshed one, saved back to the Store
// (keeping the refresh token when the provider does not send a new one).
//
// It is safe for concurrent use, and one Source does one refresh at a time:
// several IMAP connections dialling at once wait for the first one's
// refresh and then share its token, instead of refreshing four times. A
// waiting caller still gives up when its context ends.
//
// The token file is read again whenever the token in memory is not good
// enough, so a `mdsync login` or a refresh by another process is picked
// up. If a refreshed token cannot be saved, the Source keeps it but returns
// the error until a save succeeds: a provider that rotates refresh tokens
// (Microsoft does) would otherwise leave only a dead one on disk.
type Source struct {
	p       Provider
	st      Store
	account string

	sem     chan struct{} // held while reading or changing tok: one refresh at a time
	tok     *oauth2.Token // latest token known; guarded by sem
	unsaved bool          // tok is newer than the file; guarded by sem

	refreshes atomic.Uint64 // completed refreshes, for Refresh's de-duplication
}

// NewSource returns the Source of account, signing in with p and keeping
// tokens in st. Nothing is read until the first Token call.
func NewSource(p Provider, st Store, account string) *Source {
	return &Source{p: p, st: st, account: account, sem: make(chan struct{}, 1)}
}

// Token returns an access token with more than a minute left, refreshing it
// if needed. Errors wrap ErrNeedLogin when only a sign-in helps, and keep
// network errors in the chain (see Temporary).
func (s *Source) Token(ctx context.Context) (string, error) {
	if err := s.lock(ctx); err != nil {
		return "", fmt.Errorf("get the access token of %s: %w", s.account, err)
	}
	defer s.unlock()
	if err := s.flushLocked(); err != nil {
		return "", err
	}
	if fresh(s.tok) {
		return s.tok.AccessToken, nil
	}
	if err := s.loadLocked(); err != nil {
		return "", err
	}
	if fresh(s.tok) {
		return s.tok.AccessToken, nil
	}
	if err := s.refreshLocked(ctx); err != nil {
		return "", err
	}
	return s.tok.AccessToken, nil
}

// Refresh gets a new access token whatever the expiry of the current one
// says; call it once after the server refused the token. When another
// caller's refresh completed while this one waited, that token is returned
// instead of refreshing again (it is newer than the one refused).
func (s *Source) Refresh(ctx context.Context) (string, error) {
	seen := s.refreshes.Load()
	if err := s.lock(ctx); err != nil {
		return "", fmt.Errorf("refresh the access token of %s: %w", s.account, err)
	}
	defer s.unlock()
	if s.refreshes.Load() != seen && fresh(s.tok) && !s.unsaved {
		return s.tok.AccessToken, nil
	}
	if !s.unsaved {
		// The file may hold a newer refresh token than memory.
		if err := s.loadLocked(); err != nil {
			return "", err
		}
	}
	if err := s.refreshLocked(ctx); err != nil {
		return "", err
	}
	return s.tok.AccessToken, nil
}

func (s *Source) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Source) unlock() { <-s.sem }

// fresh reports whether t can be handed out. A token without expiry is
// taken as good until the server refuses it.
func fresh(t *oauth2.Token) bool {
	return t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || time.Until(t.Expiry) > minValidity)
}

// loadLocked replaces the token in memory by the stored one.
func (s *Source) loadLocked() error {
	t, err := s.st.Load(s.account)
	var damaged *DamagedError
	switch {
	case err == nil:
		s.tok = t
		return nil
	case errors.Is(err, os.ErrNotExist):
		err = &NeedLoginError{Account: s.account, Reason: "no OAuth2 token is stored in " + s.st.Dir, Err: err}
	case errors.As(err, &damaged):
		err = &NeedLoginError{Account: s.account, Reason: "the OAuth2 token file " + damaged.Path + " is damaged", Err: err}
	}
	return fmt.Errorf("get the access token of %s: %w", s.account, err)
}

// flushLocked retries saving a refreshed token whose save failed.
func (s *Source) flushLocked() error {
	if !s.unsaved {
		return nil
	}
	if err := s.st.Save(s.account, s.tok); err != nil {
		return fmt.Errorf("get the access token of %s: %w", s.account, err)
	}
	s.unsaved = false
	return nil
}

// refreshLocked trades the refresh token in memory for a new token and
// saves it.
func (s *Source) refreshLocked(ctx context.Context) error {
	if err := s.p.checkRefresh(); err != nil {
		return fmt.Errorf("refresh the access token of %s: %w", s.account, err)
	}
	if s.tok == nil || s.tok.RefreshToken == "" {
		return fmt.Errorf("refresh the access token of %s: %w", s.account,
			&NeedLoginError{Account: s.account, Reason: "the stored OAuth2 token has no refresh token"})
	}
	rt := s.tok.RefreshToken
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, refreshTimeout)
		defer cancel()
	}
	// An access token that is empty makes x/oauth2 refresh at once.
	nt, err := s.p.config("").TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		err = fromOAuth2(err, rt, s.p.ClientSecret)
		var pe *ProviderError
		if errors.As(err, &pe) && pe.Code == "invalid_grant" {
			reason := s.p.String() + " refused the refresh token (invalid_grant"
			if pe.Description != "" {
				reason += ": " + pe.Description
			}
			err = &NeedLoginError{Account: s.account, Reason: reason + ")", Err: err}
		}
		return fmt.Errorf("refresh the access token of %s: %w", s.account, err)
	}
	if nt.RefreshToken == "" { // not rotated: the old one stays good
		nt.RefreshToken = rt
	}
	s.tok = nt
	s.refreshes.Add(1)
	if err := s.st.Save(s.account, nt); err != nil {
		s.unsaved = true
		return fmt.Errorf("refresh the access token of %s: %w", s.account, err)
	}
	return nil
}
