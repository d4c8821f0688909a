package mbsync

import (
	"strconv"
	"strings"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/migrate"
)

// imapFor returns the [imap.NAME] section for an account, translating it
// (and noting what does not carry over) the first time.
func (r *reader) imapFor(acc *account) *migrate.IMAP {
	if out, ok := r.imaps[acc]; ok {
		return out
	}
	out := &migrate.IMAP{Name: r.uniqueName("imap", acc.Name)}
	r.imaps[acc] = out
	r.imapOrder = append(r.imapOrder, out)
	s := acc.Sec
	tls := "" // as mbsync decides it, in line order
	hasPass := false
	for _, e := range s.Entries {
		a := e.Arg()
		switch e.Key {
		case "Host":
			// The imap[s]: URL notation is a backwards compatibility hack.
			if strings.HasPrefix(strings.ToLower(a), "imaps:") {
				a, tls = a[len("imaps:"):], "implicit"
			} else if strings.HasPrefix(strings.ToLower(a), "imap:") {
				a = a[len("imap:"):]
			}
			out.Host = strings.TrimPrefix(a, "//")
		case "Port":
			out.Port, _ = strconv.Atoi(a)
		case "SSLType", "TLSType":
			tls = map[string]string{"imaps": "implicit", "starttls": "starttls", "none": "none"}[strings.ToLower(a)]
		case "UseIMAPS":
			if parseBool(a) {
				tls = "implicit"
			}
			r.note(e.Line, "%s is deprecated (and gone in mbsync 1.5); carried over as tls = %q", e.Word, orDefault(tls, "starttls"))
		case "RequireSSL", "UseSSLv2", "UseSSLv3", "UseTLSv1", "UseTLSv1.1", "UseTLSv1.2", "UseTLSv1.3":
			r.note(e.Line, "%s %s: deprecated mbsync option; mdsync picks the TLS version itself (1.2 or newer) and never falls back to plaintext", e.Word, a)
		case "User":
			out.User = a
		case "UserCmd":
			out.UserCommand = strings.TrimPrefix(a, "+")
			r.note(e.Line, "UserCmd %s: mdsync has no user_command; run the command once and put its output in user = \"...\"", a)
		case "Pass":
			out.Password, hasPass = a, true
		case "PassCmd":
			out.PasswordCommand, hasPass = strings.TrimPrefix(a, "+"), true
			if strings.HasPrefix(a, "+") {
				r.note(e.Line, "PassCmd +...: the '+' (the command talks to the terminal, e.g. to ask for a passphrase) is dropped; make sure %q works without a terminal, as mdsync runs it from cron as well", out.PasswordCommand)
			}
		case "UseKeychain":
			if parseBool(a) {
				hasPass = true
				r.note(e.Line, "UseKeychain yes: mdsync does not read the macOS Keychain; set password_command = \"security find-internet-password -s HOST -a USER -w\"")
			}
		case "CertificateFile":
			out.CAFile = r.expand(a)
			missing := ""
			if !fileExists(out.CAFile) {
				missing = " (the file does not exist)"
			}
			r.note(e.Line, "CertificateFile%s: carried over as ca_file; mdsync trusts its certificates as CAs, so a server certificate kept there (as mbsync-get-cert saves it) still works only while it is valid for the host name and not expired, which mbsync does not demand of such pinned certificates", missing)
		case "SystemCertificates":
			if !parseBool(a) {
				r.note(e.Line, "SystemCertificates no: mdsync cannot restrict trust to CertificateFile; it also trusts the system's CAs")
			}
		case "AuthMechs":
			r.noteAuthMechs(e)
		case "Tunnel":
			r.note(e.Line, "Tunnel %s: mdsync connects only over TCP; it needs Host (and Port) of the server, reachable directly", a)
		case "Timeout":
			n, _ := strconv.Atoi(a)
			if n == 0 {
				r.note(e.Line, "Timeout 0 (none): mdsync always has a timeout (default 60s); set timeout = \"...\" if 60s is too short")
			} else {
				r.note(e.Line, "Timeout %d: not carried over; set timeout = \"%ds\" (mdsync's default is 60s)", n, n)
			}
		case "PipelineDepth":
			r.note(e.Line, "PipelineDepth %s: mdsync decides its pipelining itself; spread the load with max_connections = 1 if the server needs it", a)
		case "DisableExtensions":
			r.note(e.Line, "%s %s: mdsync has no such setting; it uses the extensions the server announces", e.Word, strings.Join(e.Args, " "))
		case "ClientCertificate", "ClientKey":
			r.note(e.Line, "%s: mdsync has no TLS client certificates; a server that requires one will refuse the login", e.Word)
		case "CipherString", "SSLVersions", "TLSVersions":
			r.note(e.Line, "%s: not carried over; mdsync uses Go's TLS defaults (TLS 1.2 or newer)", e.Word)
		case "RequireCRAM":
			if parseBool(a) {
				r.note(e.Line, "RequireCRAM yes: mdsync logs in with LOGIN or PLAIN only (over TLS); CRAM-MD5 is not supported")
			}
		}
	}
	if tls == "" {
		// mbsync's default: STARTTLS, or none over a Tunnel. mdsync's own
		// default is implicit TLS, so this is always written out.
		tls = "starttls"
		if s.last("Tunnel") != nil {
			tls = "none"
		}
	}
	out.TLS = tls
	if tls == "none" && out.Host != "" && !mailnet.IsLoopback(out.Host) {
		out.AllowPlaintext = true
		line := s.Line
		if e := s.last("SSLType"); e != nil {
			line = e.Line
		} else if e := s.last("TLSType"); e != nil {
			line = e.Line
		}
		r.note(line, "SSLType None toward %s: the password and all mail cross the network unencrypted; carried over with allow_plaintext = true, which mdsync demands for that — switch to tls = \"starttls\" or \"implicit\" if the server offers it", out.Host)
	}
	if out.Host == "" {
		r.note(s.Line, "%s %s has no Host: set host in [imap.%s]", s.Kind, s.Name, out.Name)
	}
	if !hasPass {
		r.note(s.Line, "%s %s has no Pass or PassCmd: mbsync asks for the password at every run, mdsync never asks; set password_command (or password_env) in [imap.%s]", s.Kind, s.Name, out.Name)
	}
	return out
}

// noteAuthMechs notes mechanisms mdsync cannot use. mdsync logs in with
// LOGIN or SASL PLAIN.
func (r *reader) noteAuthMechs(e entry) {
	var ok, other []string
	for _, m := range e.Args {
		switch strings.ToUpper(m) {
		case "*":
			return
		case "LOGIN", "PLAIN":
			ok = append(ok, m)
		default:
			other = append(other, m)
		}
	}
	switch {
	case len(other) == 0:
	case len(ok) == 0:
		r.note(e.Line, "%s %s: mdsync logs in only with LOGIN or PLAIN, so it cannot log in to this account as configured (%s is not supported; for OAuth2 the password command's token will not work as a password)", e.Word, strings.Join(e.Args, " "), strings.Join(other, ", "))
	default:
		r.note(e.Line, "%s %s: mdsync will use %s; %s is not supported", e.Word, strings.Join(e.Args, " "), strings.Join(ok, "/"), strings.Join(other, ", "))
	}
}

// noteIMAPStore notes the store options of an IMAPStore that mdsync has
// no place for. It reports whether the store can be carried over at all:
// a Path or Flatten changes how mbsync names the server's folders, which
// mdsync cannot reproduce.
func (r *reader) noteIMAPStore(st *imapStore) (ok bool) {
	if done, seen := r.imapStoreOK[st]; seen {
		return done
	}
	ok = true
	for _, e := range st.Sec.Entries {
		a := e.Arg()
		switch e.Key {
		case "Path":
			ok = false
			r.note(e.Line, "Path %s: mbsync puts %q before every folder name on the server; mdsync has no such prefix (it syncs the server's names as they are), so the channels of IMAPStore %s are not carried over", a, a, st.Name)
		case "Flatten":
			ok = false
			r.note(e.Line, "Flatten %s on the server side: mbsync sees server folder A/B as \"A%sB\"; mdsync cannot flatten server names, so the channels of IMAPStore %s are not carried over", a, a, st.Name)
		case "PathDelimiter":
			r.note(e.Line, "PathDelimiter %s: not carried over; mdsync takes the hierarchy delimiter from the server", a)
		case "UseNamespace":
			if !parseBool(a) {
				r.note(e.Line, "UseNamespace no: mdsync syncs the server's folder names as LIST returns them; check the folder names after the first run")
			}
		case "SubscribedOnly":
			if parseBool(a) {
				r.note(e.Line, "SubscribedOnly yes: mdsync syncs every folder that matches the channel's patterns, subscribed or not; exclude the others with \"!name\" patterns")
			}
		default:
			r.noteStoreOption(e)
		}
	}
	r.imapStoreOK[st] = ok
	return ok
}

// noteStoreOption notes the options every mbsync store has.
func (r *reader) noteStoreOption(e entry) {
	a := e.Arg()
	switch e.Key {
	case "Trash":
		r.note(e.Line, "Trash %s: mdsync has no trash folder; a message deleted on one side is expunged on the other without a copy", a)
	case "TrashNewOnly", "TrashRemoteNew":
		if parseBool(a) {
			r.note(e.Line, "%s: mdsync has no trash folder", e.Word)
		}
	case "MaxSize":
		if n, _ := parseSize(a); n > 0 {
			r.note(e.Line, "MaxSize %s: mdsync copies every message whole, however large", a)
		}
	case "MapInbox":
		r.note(e.Line, "MapInbox %s: mdsync has no INBOX alias; INBOX is synced as INBOX", a)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
