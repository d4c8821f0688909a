package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// deviceLogin is the device authorization grant (RFC 8628): the user opens
// the verification address on any device and enters the code shown here,
// while x/oauth2's DeviceAccessToken polls the token endpoint at the
// interval the provider asked for (slowing down when told to) until the
// sign-in is done, declined, or the code expires.
//
// The device code is as good as an authorization code until it is used, so
// it is cut out of messages; the user code is meant to be shown.
func deviceLogin(ctx context.Context, p Provider, account string, out *userWriter, browse func(string) error) (*oauth2.Token, error) {
	cfg := p.config("")
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("ask for a device code: %w", fromOAuth2(err, p.ClientSecret))
	}
	fmt.Fprintf(out, "To sign in %s with %s, open %s\nand enter the code %s\n", account, p, da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "(or open %s, which carries the code)\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(out, "The code expires at %s.\n", da.Expiry.Local().Format(time.TimeOnly))
	}
	if da.VerificationURIComplete != "" {
		openBrowser(out, browse, da.VerificationURIComplete)
	} else {
		openBrowser(out, browse, da.VerificationURI)
	}

	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		err = fromOAuth2(err, da.DeviceCode, p.ClientSecret)
		var pe *ProviderError
		switch {
		case errors.As(err, &pe) && pe.Code == "access_denied":
			return nil, fmt.Errorf("the sign-in was declined: %w", err)
		case errors.As(err, &pe) && pe.Code == "expired_token":
			return nil, fmt.Errorf("the code expired before the sign-in was done: %w", err)
		case errors.Is(err, context.DeadlineExceeded):
			// the code's expiry (x/oauth2 sets it as the deadline) or ctx's
			return nil, fmt.Errorf("no sign-in before the code expired or the time ran out: %w", err)
		}
		return nil, fmt.Errorf("wait for the sign-in: %w", err)
	}
	return tok, nil
}
