package offlineimap

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/migrate"
)

// The remote repository (type IMAP or Gmail) becomes an [imap] section:
//
//   - host: remotehosteval when it is a literal, else remotehost; Gmail
//     defaults to imap.gmail.com.
//   - tls: ssl (default yes) -> "implicit"; ssl = no with starttls (default
//     yes) -> "starttls"; both no -> "none", with allow_plaintext toward a
//     host that is not loopback. OfflineIMAP upgraded to STARTTLS only when
//     offered and did not verify that certificate; mdsync always verifies,
//     which the notes say. sslcacertfile = OS-DEFAULT is mdsync's default, a
//     path becomes ca_file; cert_fingerprint has no equivalent.
//   - port: remoteport, dropped when it is the default for the TLS mode
//     (993 implicit, 143 otherwise, as in both tools).
//   - user: remoteusereval when translatable, else remoteuser.
//   - password, in OfflineIMAP's order: remotepasseval (a literal or a
//     recognisable command, see pyexpr.go), remotepass, remotepassfile (a
//     command printing the file's first line stripped, which is what
//     OfflineIMAP reads), else a note (netrc, keyring, prompt).

// imap translates the remote repository.
func (t *translator) imap(s *iniSection, typ, name string) (migrate.IMAP, error) {
	im := migrate.IMAP{Name: name}
	gmail := typ == "Gmail"
	if gmail {
		t.note(s.line, "type = Gmail: Gmail labels are not synced; every label, and [Gmail]/All Mail, is synced as an ordinary folder (a message with several labels is downloaded once per folder); consider folders = [\"*\", \"![Gmail]/All Mail\"]")
	}

	// Host: remotehosteval wins over remotehost; Gmail defaults to
	// imap.gmail.com.
	host, _, hasHost, err := s.get("remotehost")
	if err != nil {
		return im, err
	}
	if ev, line, ok, err := s.get("remotehosteval"); err != nil {
		return im, err
	} else if ok {
		if lit, _, ok := parseSecret(ev); ok && lit != "" {
			host, hasHost = lit, true
		} else {
			t.note(line, "remotehosteval = %s is Python that mdsync cannot run; set host = \"...\"", oneLine(ev))
			host, hasHost = "", true
		}
	}
	im.Host = strings.TrimSpace(host)
	if !hasHost {
		switch {
		case gmail:
			im.Host = "imap.gmail.com"
		case s.has("preauthtunnel") || s.has("transporttunnel"):
			// noted by checkKeys
		default:
			return im, t.errAt(s.line, "[%s] has no remotehost (OfflineIMAP: \"No remote host for repository\")", s.name)
		}
	}

	// TLS.
	ssl, sslLine, err := t.getBool(s, "ssl", true)
	if err != nil {
		return im, err
	}
	starttls, stLine, err := t.getBool(s, "starttls", true)
	if err != nil {
		return im, err
	}
	switch {
	case ssl:
		im.TLS = "implicit"
	case starttls:
		im.TLS = "starttls"
		line := stLine
		if line == 0 {
			line = sslLine
		}
		t.note(line, "ssl = no with starttls = yes (OfflineIMAP's default): OfflineIMAP upgraded to TLS only when the server offered STARTTLS and did not check the certificate; mdsync requires STARTTLS and verifies the certificate (set ca_file for a private CA)")
	default:
		im.TLS = "none"
		if !mailnet.IsLoopback(im.Host) && im.Host != "" {
			im.AllowPlaintext = true
			t.note(sslLine, "ssl = no and starttls = no: the password and the mail travel unencrypted to %s, as they did with OfflineIMAP (allow_plaintext = true); switch to tls = \"implicit\" or \"starttls\" if the server offers it", im.Host)
		}
	}
	if v, line, ok, err := s.get("sslcacertfile"); err != nil {
		return im, err
	} else if ok && strings.TrimSpace(v) != "OS-DEFAULT" && strings.TrimSpace(v) != "" {
		im.CAFile = t.abs(expandVars(t.expandUser(strings.TrimSpace(v))))
		if im.TLS == "none" {
			t.note(line, "sslcacertfile is unused without TLS")
		}
	}
	if v, line, ok, err := s.get("cert_fingerprint"); err != nil {
		return im, err
	} else if ok && strings.TrimSpace(v) != "" {
		t.note(line, "cert_fingerprint is not supported: mdsync verifies the server's certificate against the system's CAs (or ca_file); for a self-signed certificate set ca_file to that certificate's PEM file")
	}

	// Port.
	if v, line, ok, err := s.get("remoteport"); err != nil {
		return im, err
	} else if ok {
		p, perr := strconv.Atoi(strings.TrimSpace(v))
		if perr != nil || p <= 0 || p > 65535 {
			return im, t.errAt(line, "remoteport = %q is not a port number", v)
		}
		im.Port = p
	}
	if v, line, ok, err := s.get("remoteporteval"); err != nil {
		return im, err
	} else if ok {
		if p, perr := strconv.Atoi(strings.TrimSpace(v)); perr == nil && p > 0 && p <= 65535 {
			im.Port = p
		} else {
			t.note(line, "remoteporteval = %s is Python that mdsync cannot run; set port = ...", oneLine(v))
		}
	}
	if (im.TLS == "implicit" && im.Port == 993) || (im.TLS != "implicit" && im.Port == 143) {
		im.Port = 0 // mdsync's default for that TLS mode, as OfflineIMAP's
	}

	// User.
	if v, line, ok, err := s.get("remoteusereval"); err != nil {
		return im, err
	} else if ok {
		lit, cmd, ok := parseSecret(v)
		switch {
		case ok && cmd != "":
			im.UserCommand = cmd
		case ok:
			im.User = lit
		default:
			t.note(line, "remoteusereval = %s is Python that mdsync cannot run; set user = \"...\"", oneLine(v))
		}
	} else if v, _, ok, err := s.get("remoteuser"); err != nil {
		return im, err
	} else if ok {
		im.User = v
	} else {
		t.note(s.line, "[%s] has no remoteuser: OfflineIMAP took it from ~/.netrc; set user = \"...\"", s.name)
	}

	// Password: remotepasseval, then remotepass, then remotepassfile, then
	// netrc, as OfflineIMAP tries them.
	if v, line, ok, err := s.get("remotepasseval"); err != nil {
		return im, err
	} else if ok {
		lit, cmd, ok := parseSecret(v)
		switch {
		case ok && cmd != "":
			im.PasswordCommand = cmd
			t.note(line, "remotepasseval = %s becomes password_command = %q (mdsync uses the first line it prints)", oneLine(v), cmd)
		case ok:
			im.Password = lit
		default:
			where := ""
			if t.pythonfile != "" {
				where = fmt.Sprintf(" (a function from pythonfile %s?)", t.pythonfile)
			}
			t.note(line, "remotepasseval = %s calls Python%s that mdsync cannot run; set password_command to a shell command that prints the password (e.g. \"pass show mail/%s\")", oneLine(v), where, name)
		}
	} else if v, _, ok, err := s.get("remotepass"); err != nil {
		return im, err
	} else if ok {
		im.Password = v
	} else if v, line, ok, err := s.get("remotepassfile"); err != nil {
		return im, err
	} else if ok {
		path := t.abs(t.expandUser(strings.TrimSpace(v)))
		// OfflineIMAP reads the file's first line and strips the white
		// space around it; mdsync takes the first line a command prints
		// and only drops a trailing CR, so the command strips too.
		im.PasswordCommand = "sed -n '1{s/^[[:space:]]*//;s/[[:space:]]*$//;p;q;}' " + shellQuote(path)
		t.note(line, "remotepassfile = %s becomes a password_command printing the file's first line without the white space around it, as OfflineIMAP read it", v)
	} else if !s.has("oauth2_refresh_token") && !s.has("oauth2_refresh_token_eval") && !s.has("oauth2_access_token") && !s.has("oauth2_access_token_eval") {
		t.note(s.line, "[%s] has no password: OfflineIMAP read ~/.netrc, a keyring or asked for it; set password_command (recommended) or password", s.name)
	}

	// Authentication.
	if v, line, ok, err := s.get("auth_mechanisms"); err != nil {
		return im, err
	} else if ok {
		plain := false
		for _, m := range regexp.MustCompile(`,\s*`).Split(strings.TrimSpace(v), -1) {
			if m == "PLAIN" || m == "LOGIN" {
				plain = true
			}
		}
		if !plain {
			t.note(line, "auth_mechanisms = %s: mdsync logs in with LOGIN and a password", v)
		}
	}
	for _, k := range s.keys {
		if strings.HasPrefix(k.name, "oauth2_") {
			t.note(k.line, "OAuth2 (XOAUTH2) is not supported by mdsync for IMAP: it logs in with a password (for Gmail an app password); set password_command")
			break
		}
	}
	if on, line, err := t.getBool(s, "subscribedonly", false); err != nil {
		return im, err
	} else if on {
		t.note(line, "subscribedonly is not carried over: mdsync syncs every folder the server lists; list the subscribed ones in folders = [...]")
	}
	return im, nil
}
