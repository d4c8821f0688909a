package mbsync

import (
	"fmt"
	"strconv"
	"strings"
)

// The keywords mbsync accepts, per section, as in isync 1.4.4 and 1.5
// (config.c, driver.c, drv_imap.c, drv_maildir.c). The reader accepts the
// union of both versions: a keyword one of them does not know is only
// evidence of which version wrote the file (see version.go).

// sectionKind is what a section of the mbsyncrc defines.
type sectionKind int

const (
	kindGlobal sectionKind = iota
	kindAccount
	kindIMAPStore
	kindMaildirStore
	kindChannel
	kindGroup
)

// sectionWords are the section-starting keywords.
var sectionWords = map[string]sectionKind{
	"imapaccount":  kindAccount,
	"imapstore":    kindIMAPStore,
	"maildirstore": kindMaildirStore,
	"channel":      kindChannel,
	"group":        kindGroup,
}

func (k sectionKind) String() string {
	return [...]string{"global", "IMAPAccount", "IMAPStore", "MaildirStore", "Channel", "Group"}[k]
}

// keyword describes one keyword: its canonical name (aliases map to it),
// whether it takes several arguments, how its arguments are checked, and
// which version alone knows it (0: both).
type keyword struct {
	Name  string
	Multi bool
	Check func(args []string) string // "" or the error
	Only  version
}

func kw(name string, check func([]string) string) keyword {
	return keyword{Name: name, Check: check}
}

func multi(name string, check func([]string) string) keyword {
	return keyword{Name: name, Multi: true, Check: check}
}

func only(v version, k keyword) keyword { k.Only = v; return k }

// The argument checks mirror parse_bool, parse_int, parse_size and the
// keyword-specific tests of mbsync; a value mbsync refuses is a config error.

func anyArg([]string) string { return "" }

func boolArg(a []string) string {
	switch strings.ToLower(a[0]) {
	case "yes", "true", "on", "1", "no", "false", "off", "0":
		return ""
	}
	return fmt.Sprintf("invalid boolean value '%s'", a[0])
}

// parseBool is parse_bool; the value has been checked.
func parseBool(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return true
	}
	return false
}

func intArg(a []string) string {
	if _, err := strconv.Atoi(a[0]); err != nil {
		return fmt.Sprintf("invalid integer value '%s'", a[0])
	}
	return ""
}

func portArg(a []string) string {
	n, err := strconv.Atoi(a[0])
	if err != nil {
		return fmt.Sprintf("invalid integer value '%s'", a[0])
	}
	if n < 0 || n > 0xffff {
		return "Invalid port number"
	}
	return ""
}

func pipelineArg(a []string) string {
	if m := intArg(a); m != "" {
		return m
	}
	if n, _ := strconv.Atoi(a[0]); n < 1 {
		return "PipelineDepth must be at least 1"
	}
	return ""
}

// parseSize is parse_size: digits, then k/K or m/M, then an optional b/B.
func parseSize(s string) (uint64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.ParseUint(s[:i], 10, 32)
	if i < len(s) {
		switch s[i] {
		case 'k', 'K':
			n *= 1024
			i++
		case 'm', 'M':
			n *= 1024 * 1024
			i++
		}
	}
	if i < len(s) && (s[i] == 'b' || s[i] == 'B') {
		i++
	}
	return n, i == len(s)
}

func sizeArg(a []string) string {
	if _, ok := parseSize(a[0]); !ok {
		return fmt.Sprintf("invalid size '%s'", a[0])
	}
	return ""
}

func oneOf(what string, values ...string) func([]string) string {
	return func(a []string) string {
		for _, v := range values {
			if strings.EqualFold(a[0], v) {
				return ""
			}
		}
		return fmt.Sprintf("invalid %s '%s' (one of %s)", what, a[0], strings.Join(values, ", "))
	}
}

func delimArg(what string, punct bool) func([]string) string {
	return func(a []string) string {
		if len(a[0]) != 1 {
			return what + " must be exactly one character long"
		}
		if c := a[0][0]; punct && !(c > ' ' && c < 0x7f && !isAlnum(c)) {
			return what + " must be a punctuation character"
		}
		return ""
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func flattenArg(a []string) string {
	if strings.Contains(a[0], "/") {
		return "flattened hierarchy delimiter cannot contain the canonical delimiter '/'"
	}
	return ""
}

// boxOpArg checks Create, Remove, Expunge and ExpungeSolo.
func boxOpArg(a []string) string {
	for _, v := range a {
		switch strings.ToLower(v) {
		case "none", "both", "far", "near", "master", "slave":
		default:
			return fmt.Sprintf("invalid argument '%s' (None, Far, Near or Both)", v)
		}
	}
	return ""
}

// syncWords are the arguments of Sync: 1.4 and 1.5 alike, then 1.5 only.
var syncWords = map[string]version{
	"push": 0, "pull": 0, "new": 0, "renew": 0, "delete": 0, "flags": 0, "all": 0, "full": 0, "none": 0, "noop": 0,
	"pullnew": 0, "pullrenew": 0, "pulldelete": 0, "pullflags": 0,
	"pushnew": 0, "pushrenew": 0, "pushdelete": 0, "pushflags": 0,
	"upgrade": v15, "old": v15, "gone": v15,
	"pullupgrade": v15, "pullold": v15, "pullgone": v15, "pullfull": v15,
	"pushupgrade": v15, "pushold": v15, "pushgone": v15, "pushfull": v15,
}

func syncArg(a []string) string {
	for _, v := range a {
		if _, ok := syncWords[strings.ToLower(v)]; !ok {
			return fmt.Sprintf("invalid Sync arg '%s'", v)
		}
	}
	return ""
}

// storeSpecArg checks Far/Near ":store:[box]" (the store is looked up
// later).
func storeSpecArg(a []string) string {
	if !strings.HasPrefix(a[0], ":") || !strings.Contains(a[0][1:], ":") {
		return "malformed mailbox spec (want :store:[mailbox])"
	}
	return ""
}

// accountWords are valid in IMAPAccount sections and, for an account of its
// own, in IMAPStore sections.
var accountWords = []keyword{
	kw("Host", anyArg), kw("User", anyArg), kw("UserCmd", anyArg),
	kw("Pass", anyArg), kw("PassCmd", anyArg), kw("UseKeychain", boolArg),
	kw("Port", portArg), kw("Timeout", intArg), kw("PipelineDepth", pipelineArg),
	multi("DisableExtensions", anyArg),
	kw("CertificateFile", anyArg), kw("SystemCertificates", boolArg),
	kw("ClientCertificate", anyArg), kw("ClientKey", anyArg), kw("CipherString", anyArg),
	kw("SSLType", oneOf("SSL type", "None", "STARTTLS", "IMAPS")),
	only(v15, kw("TLSType", oneOf("TLS type", "None", "STARTTLS", "IMAPS"))),
	multi("SSLVersions", anyArg), only(v15, multi("TLSVersions", anyArg)),
	only(v14, kw("RequireSSL", boolArg)), only(v14, kw("UseIMAPS", boolArg)),
	only(v14, kw("UseSSLv2", boolArg)), only(v14, kw("UseSSLv3", boolArg)),
	only(v14, kw("UseTLSv1", boolArg)), only(v14, kw("UseTLSv1.1", boolArg)),
	only(v14, kw("UseTLSv1.2", boolArg)), only(v14, kw("UseTLSv1.3", boolArg)),
	multi("AuthMechs", anyArg), kw("RequireCRAM", boolArg), kw("Tunnel", anyArg),
}

// storeWords are valid in every store section (parse_generic_store).
var storeWords = []keyword{
	kw("Trash", anyArg), kw("TrashRemoteNew", boolArg), kw("TrashNewOnly", boolArg),
	kw("MaxSize", sizeArg), kw("MapInbox", anyArg), kw("Flatten", flattenArg),
}

var imapStoreWords = append(append([]keyword{
	kw("Account", anyArg), kw("UseNamespace", boolArg), kw("SubscribedOnly", boolArg),
	kw("Path", anyArg), kw("PathDelimiter", delimArg("Path delimiter", false)),
}, accountWords...), storeWords...)

var maildirStoreWords = append([]keyword{
	kw("Inbox", anyArg), kw("Path", anyArg), kw("AltMap", boolArg),
	kw("InfoDelimiter", delimArg("Info delimiter", true)),
	kw("SubFolders", oneOf("SubFolders style", "Verbatim", "Maildir++", "Legacy")),
}, storeWords...)

// channelOptWords are valid in Channel sections and as globals
// (getopt_helper).
var channelOptWords = []keyword{
	multi("Sync", syncArg), kw("SyncState", anyArg), kw("CopyArrivalDate", boolArg),
	kw("MaxMessages", intArg), kw("ExpireUnread", boolArg),
	only(v15, kw("ExpireSide", oneOf("ExpireSide argument", "Far", "Near"))),
	multi("Create", boxOpArg), multi("Remove", boxOpArg), multi("Expunge", boxOpArg),
	only(v15, multi("ExpungeSolo", boxOpArg)),
}

var channelWords = append([]keyword{
	kw("Far", storeSpecArg), kw("Near", storeSpecArg),
	kw("Master", storeSpecArg), kw("Slave", storeSpecArg), // before 1.4
	multi("Patterns", anyArg), kw("MaxSize", sizeArg),
}, channelOptWords...)

var groupWords = []keyword{multi("Channels", anyArg)}

var globalWords = append([]keyword{
	kw("FSync", boolArg), kw("FieldDelimiter", delimArg("Field delimiter", true)),
	kw("BufferLimit", func(a []string) string {
		if m := sizeArg(a); m != "" {
			return m
		}
		if n, _ := parseSize(a[0]); n == 0 {
			return "BufferLimit cannot be zero"
		}
		return ""
	}),
}, channelOptWords...)

// aliases are other spellings mbsync accepts for a keyword.
var aliases = map[string]string{
	"authmech": "AuthMechs", "disableextension": "DisableExtensions",
	"sslversion": "SSLVersions", "pattern": "Patterns", "channel": "Channels",
}

// keywordTables are the keywords of each kind of section.
var keywordTables = map[sectionKind]map[string]keyword{}

func init() {
	for k, words := range map[sectionKind][]keyword{
		kindGlobal: globalWords, kindAccount: accountWords, kindIMAPStore: imapStoreWords,
		kindMaildirStore: maildirStoreWords, kindChannel: channelWords, kindGroup: groupWords,
	} {
		t := map[string]keyword{}
		for _, w := range words {
			t[strings.ToLower(w.Name)] = w
		}
		for alias, name := range aliases {
			if w, ok := t[strings.ToLower(name)]; ok {
				t[alias] = w
			}
		}
		keywordTables[k] = t
	}
}

// lookupKeyword finds key (any case) among the keywords of kind.
func lookupKeyword(kind sectionKind, key string) (keyword, bool) {
	w, ok := keywordTables[kind][strings.ToLower(key)]
	return w, ok
}
