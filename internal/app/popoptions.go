package app

import (
	"fmt"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/popfetch"
)

// popOptions are the popfetch settings of the account [pop.NAME]: its
// config's values, checked when the config was read, in popfetch's types.
// The caller adds the Store, the DB and how the run behaves.
func popOptions(name string, p *config.POP, pw string, token tokenFunc) (popfetch.Options, error) {
	mode, err := mailnet.ParseTLSMode(p.TLS)
	if err != nil {
		return popfetch.Options{}, fmt.Errorf("pop.%s: %w", name, err)
	}
	auth, err := popfetch.ParseAuth(p.Auth)
	if err != nil {
		return popfetch.Options{}, fmt.Errorf("pop.%s: %w", name, err)
	}
	return popfetch.Options{
		Account: name,
		Host:    p.Host, Port: p.Port, TLS: mode, CAFile: p.CAFile, Timeout: p.TimeoutDur,
		User: p.User, Auth: auth, Password: pw, Token: token,
		Folder: p.Folder, Delete: popDeletePolicy(p), MaxSize: p.MaxSizeB, MaxMessages: p.MaxMessages,
	}, nil
}

// popDeletePolicy reads delete = "never" | "after-fetch" | "after:14d"
// (config.POP.DeleteAfter: -1, 0, the age). Deleting is the one setting
// whose mistake loses mail on the server: a delete left unset keeps it.
func popDeletePolicy(p *config.POP) popfetch.DeletePolicy {
	if p.Delete == "" || p.Delete == "never" || p.DeleteAfter < 0 {
		return popfetch.DeletePolicy{}
	}
	return popfetch.DeletePolicy{Enabled: true, After: p.DeleteAfter}
}
