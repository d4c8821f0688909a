package config

import (
	"net"
	"strconv"
	"time"
)

// Config is a whole validated configuration.
type Config struct {
	File     string              `toml:"-"`
	StateDir string              `toml:"state_dir"`
	IMAP     map[string]*IMAP    `toml:"imap"`
	Maildir  map[string]*Maildir `toml:"maildir"`
	Channel  map[string]*Channel `toml:"channel"`
	POP      map[string]*POP     `toml:"pop"`
	Warnings []string            `toml:"-"`
	lines    map[string]int
}

// Server holds what IMAP and POP accounts share: where and how to log in.
type Server struct {
	Host            string `toml:"host"`
	Port            int    `toml:"port"`
	TLS             string `toml:"tls"` // implicit | starttls | none
	User            string `toml:"user"`
	Password        string `toml:"password"`
	PasswordCommand string `toml:"password_command"`
	PasswordEnv     string `toml:"password_env"`
	AllowPlaintext  bool   `toml:"allow_plaintext"`
	CAFile          string `toml:"ca_file"`
	Timeout         string `toml:"timeout"` // per network operation, default 60s
	// OAuth2 sign-in: a built-in login (mdsync login NAME) or a helper
	// command that prints an access token
	OAuth2       *OAuth2 `toml:"oauth2"`
	TokenCommand string  `toml:"token_command"`

	TimeoutDur time.Duration `toml:"-"`
}

// OAuth2 is how an account signs in with OAuth2 (oauth2 = { ... }).
type OAuth2 struct {
	Provider            string   `toml:"provider"` // google | microsoft | custom
	ClientID            string   `toml:"client_id"`
	ClientSecret        string   `toml:"client_secret"`
	ClientSecretCommand string   `toml:"client_secret_command"`
	Tenant              string   `toml:"tenant"` // microsoft; default "common"
	Scopes              []string `toml:"scopes"` // default: the provider's mail scopes
	AuthURL             string   `toml:"auth_url"`
	TokenURL            string   `toml:"token_url"`
	DeviceAuthURL       string   `toml:"device_auth_url"`
	Flow                string   `toml:"flow"` // loopback | device; default: the provider's
}

// IMAP is an [imap.NAME] account.
type IMAP struct {
	Server
	MaxConnections int    `toml:"max_connections"`
	Auth           string `toml:"auth"` // auto (default) | login | plain | xoauth2 | oauthbearer
	// Prefix overrides the personal namespace's prefix the server reports
	// (NAMESPACE): "INBOX." on Courier, "" to use none.
	Prefix *string `toml:"prefix"`
	Name   string  `toml:"-"`
}

// Maildir is a [maildir.NAME] local tree.
type Maildir struct {
	Path   string `toml:"path"`
	Layout string `toml:"layout"` // verbatim (default) | maildir++ | flat
	Names  string `toml:"names"`  // utf8 (default) | mutf7: how non-ASCII folder names are spelled on disk
	Name   string `toml:"-"`
}

// Hooks are commands run around a channel's or POP account's sync, with
// sh -c: pre_sync before it, post_sync after it (the messages that arrived
// as JSON on its stdin), new_mail after it when something arrived.
type Hooks struct {
	PreSync     string `toml:"pre_sync"`
	PostSync    string `toml:"post_sync"`
	NewMail     string `toml:"new_mail"`
	HookTimeout string `toml:"hook_timeout"` // default 60s

	HookTimeoutDur time.Duration `toml:"-"`
}

// Channel is a [channel.NAME] pairing an IMAP account with a Maildir tree.
type Channel struct {
	Hooks
	Polling
	// Watch names the folders mdsync watch keeps an IDLE connection on
	// (default INBOX); the others are polled (watch.go).
	Watch     []string `toml:"watch"`
	IMAP      string   `toml:"imap"`
	Maildir   string   `toml:"maildir"`
	Folders   []string `toml:"folders"`
	Create    string   `toml:"create"`     // both (default) | imap | maildir | none
	Remove    string   `toml:"remove"`     // none (default) | imap | maildir | both
	Expunge   string   `toml:"expunge"`    // both (default) | imap | maildir | none
	MaxDelete string   `toml:"max_delete"` // "50%" (default) or a count
	Name      string   `toml:"-"`

	// MaxDeletePercent / MaxDeleteCount: exactly one is used (count when >= 0).
	MaxDeletePercent int `toml:"-"`
	MaxDeleteCount   int `toml:"-"`
}

// POP is a [pop.NAME] account fetched one way into a Maildir folder.
type POP struct {
	Server
	Hooks
	Polling
	Maildir     string `toml:"maildir"`
	Folder      string `toml:"folder"`
	Delete      string `toml:"delete"` // never | after-fetch | after:14d
	MaxSize     string `toml:"max_size"`
	MaxMessages int    `toml:"max_messages"`
	Auth        string `toml:"auth"` // auto (default) | user | apop | plain | xoauth2 | oauthbearer
	Name        string `toml:"-"`

	// DeleteAfter is the age after which fetched messages are deleted:
	// -1 never, 0 right after the fetch.
	DeleteAfter time.Duration `toml:"-"`
	MaxSizeB    int64         `toml:"-"`
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }
