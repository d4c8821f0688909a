package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mdsync/mdsync/internal/mailnet"
)

func (c *Config) validateServer(sec string, s *Server, tlsPort, plainPort int) error {
	if s.Host == "" {
		return c.errAt(sec, "host is required")
	}
	if s.User == "" {
		return c.errAt(sec, "user is required")
	}
	switch s.TLS {
	case "":
		s.TLS = "implicit"
	case "implicit", "starttls", "none":
	default:
		return c.errAt(sec+".tls", "tls must be implicit, starttls or none; not %q", s.TLS)
	}
	if s.Port == 0 {
		s.Port = plainPort
		if s.TLS == "implicit" {
			s.Port = tlsPort
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		return c.errAt(sec+".port", "port %d out of range", s.Port)
	}
	if s.TLS == "none" && !mailnet.PlaintextAllowed(s.Host, s.AllowPlaintext) {
		return c.errAt(sec+".tls", "tls = \"none\" toward %s would send the password in clear text; use tls = \"implicit\" or \"starttls\", or set allow_plaintext = true", s.Host)
	}
	n := 0
	for _, v := range []string{s.Password, s.PasswordCommand, s.PasswordEnv} {
		if v != "" {
			n++
		}
	}
	oauth := s.OAuth2 != nil || s.TokenCommand != ""
	switch {
	case s.OAuth2 != nil && s.TokenCommand != "":
		return c.errAt(sec+".token_command", "set only one of oauth2 and token_command")
	case oauth && n > 0:
		return c.errAt(sec, "an OAuth2 account (oauth2 or token_command) takes no password; remove password, password_command or password_env")
	case n == 0 && !oauth:
		return c.errAt(sec, "no password: set password_command (recommended), password_env or password, or oauth2 / token_command to sign in with OAuth2")
	case n > 1:
		return c.errAt(sec, "set only one of password, password_command, password_env")
	}
	if s.OAuth2 != nil {
		if err := c.validateOAuth2(sec, s.OAuth2); err != nil {
			return err
		}
	}
	if s.CAFile != "" {
		var err error
		if s.CAFile, err = c.expandPath(s.CAFile); err != nil {
			return c.errAt(sec+".ca_file", "%v", err)
		}
		// checked here, not at the first connection: check and sync
		// reject the same configs, and the error has a line
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return c.errAt(sec+".ca_file", "cannot read ca_file %s: %v", s.CAFile, errors.Unwrap(err))
		}
		if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
			return c.errAt(sec+".ca_file", "ca_file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", s.CAFile)
		}
	}
	s.TimeoutDur = 60 * time.Second
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return c.errAt(sec+".timeout", "timeout must be a duration such as \"60s\", not %q", s.Timeout)
		}
		s.TimeoutDur = d
	}
	return nil
}

// validateOAuth2 fills in a provider's defaults and checks what it needs.
func (c *Config) validateOAuth2(sec string, o *OAuth2) error {
	key := sec + ".oauth2"
	o.Provider = strings.ToLower(o.Provider)
	switch o.Provider {
	case "google", "microsoft":
		if o.ClientID == "" {
			return c.errAt(key, "oauth2: client_id is required: register your own OAuth2 client (see the README, Gmail / Microsoft 365)")
		}
	case "custom":
		if o.ClientID == "" || o.TokenURL == "" || (o.AuthURL == "" && o.DeviceAuthURL == "") {
			return c.errAt(key, "oauth2: provider = \"custom\" needs client_id, token_url, and auth_url or device_auth_url")
		}
	case "":
		return c.errAt(key, "oauth2: provider is required: \"google\", \"microsoft\" or \"custom\"")
	default:
		return c.errAt(key, "oauth2: provider must be \"google\", \"microsoft\" or \"custom\", not %q", o.Provider)
	}
	if o.ClientSecret != "" && o.ClientSecretCommand != "" {
		return c.errAt(key, "oauth2: set only one of client_secret and client_secret_command")
	}
	switch o.Flow {
	case "", "loopback", "device":
	default:
		return c.errAt(key, "oauth2: flow must be \"loopback\" or \"device\", not %q", o.Flow)
	}
	if o.Provider == "google" && o.Flow == "device" {
		return c.errAt(key, "oauth2: Google does not allow Gmail scopes in the device flow; use flow = \"loopback\"")
	}
	return nil
}

// Secret resolves the password of a server section. It never logs it.
func (s *Server) Secret() (string, error) {
	switch {
	case s.PasswordCommand != "":
		cmd := exec.Command("/bin/sh", "-c", s.PasswordCommand)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 200 {
				msg = msg[:200]
			}
			return "", fmt.Errorf("password_command failed: %v %s", err, msg)
		}
		pw, _, _ := strings.Cut(string(out), "\n")
		pw = strings.TrimRight(pw, "\r")
		if pw == "" {
			return "", errors.New("password_command printed nothing")
		}
		return pw, nil
	case s.PasswordEnv != "":
		pw, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || pw == "" {
			return "", fmt.Errorf("password_env: $%s is not set", s.PasswordEnv)
		}
		return pw, nil
	default:
		return s.Password, nil
	}
}
