package offlineimap

import "regexp"

// The keys OfflineIMAP 8.0 reads, by section (from its sources and
// offlineimap.conf). A key not listed is noted as unknown; a listed key
// with a text gets that note whenever it is set.

// section kinds and the keys OfflineIMAP reads in each. A non-empty text is
// a note given when the key is set; "" means the key is used by the
// translator or changes nothing for the mail.
var (
	generalKeys = map[string]string{
		"accounts": "", "metadata": "", "pythonfile": "", "maxsyncaccounts": "", "ui": "",
		"ignore-readonly": "", "fsync": "", "dry-run": "", "filename_use_mail_timestamp": "",
		"utime_from_header": "",
		"socktimeout":       "socktimeout is not carried over: set timeout = \"...\" in the [imap] section (mdsync's default is 60s)",
	}
	mbnamesKeys = map[string]string{
		"enabled": "", "filename": "", "header": "", "peritem": "", "sep": "", "footer": "",
		"incremental": "", "folderfilter": "", "sort_keyfunc": "",
	}
	accountKeys = map[string]string{
		"localrepository": "", "remoterepository": "", "utf8foldernames": "", "maildir-windows-compatible": "",
		"skipsleep":      "",
		"autorefresh":    "autorefresh is not carried over: mdsync syncs once per run; run \"mdsync -q sync\" from cron or a systemd timer (see the README)",
		"quick":          "quick is not carried over: every mdsync run is quick (it asks the server what changed); run it from cron or a systemd timer",
		"presynchook":    "presynchook is not carried over: mdsync has no hooks; run the command before mdsync in your cron job or systemd unit (ExecStartPre=)",
		"postsynchook":   "postsynchook is not carried over: mdsync has no hooks; run the command after mdsync in your cron job or systemd unit (ExecStartPost=)",
		"maxsize":        "maxsize is not carried over: mdsync has no size limit for IMAP, so the first run downloads the larger messages too",
		"maxage":         "maxage is not carried over: mdsync syncs every message whatever its age, so the first run downloads the older ones too",
		"synclabels":     "synclabels is not carried over: mdsync does not sync Gmail labels (no X-Keywords header); labels are synced as the [Gmail] folders they show up in",
		"labelsheader":   "labelsheader is not carried over: mdsync does not sync Gmail labels",
		"ignorelabels":   "ignorelabels is not carried over: mdsync does not sync Gmail labels",
		"filterheaders":  "filterheaders is not carried over: mdsync stores messages exactly as the server sends them",
		"proxy":          "proxy is not carried over: mdsync connects directly",
		"authproxy":      "authproxy is not carried over: mdsync connects directly",
		"status_backend": "status_backend is refused by OfflineIMAP 8 (SQLite is its only status backend); ignored",
	}
	repoKeys = map[string]string{
		"type": "", "readonly": "", "nametrans": "", "folderfilter": "", "folderincludes": "",
		"createfolders": "", "sync_deletes": "", "foldersort": "", "dynamic_folderfilter": "",
		"restoreatime": "", "utime_from_header": "", "filename_use_mail_timestamp": "",
		"startdate":        "startdate is not carried over: mdsync syncs every message whatever its date",
		"copy_ignore_eval": "copy_ignore_eval cannot be translated: mdsync copies every message",
		"newmail_hook":     "newmail_hook is not carried over: mdsync has no hooks; run a command after mdsync from your cron job or systemd unit",
	}
	maildirKeys = map[string]string{"localfolders": "", "sep": ""}
	imapKeys    = map[string]string{
		"remotehost": "", "remotehosteval": "", "remoteport": "", "remoteporteval": "", "remoteuser": "",
		"remoteusereval": "", "remotepass": "", "remotepasseval": "", "remotepassfile": "", "ssl": "",
		"starttls": "", "sslcacertfile": "", "cert_fingerprint": "", "auth_mechanisms": "", "expunge": "",
		"decodefoldernames": "", "subscribedonly": "", "ssl_version": "", "tls_level": "", "ipv6": "",
		"usecompression": "", "maxconnections": "", "singlethreadperfolder": "", "retrycount": "",
		"trashfolder": "", "spamfolder": "",
		"oauth2_client_id": "", "oauth2_client_secret": "", "oauth2_client_id_eval": "",
		"oauth2_client_secret_eval": "", "oauth2_access_token": "", "oauth2_access_token_eval": "",
		"oauth2_refresh_token": "", "oauth2_refresh_token_eval": "", "oauth2_request_url": "",
		"sslclientcert":      "sslclientcert is not carried over: mdsync does not log in with client certificates",
		"sslclientkey":       "sslclientkey is not carried over: mdsync does not log in with client certificates",
		"remote_identity":    "remote_identity is not carried over: mdsync logs in as the user itself",
		"preauthtunnel":      "preauthtunnel is not carried over: mdsync connects over TCP to host and port (set them)",
		"transporttunnel":    "transporttunnel is not carried over: mdsync connects over TCP to host and port (set them)",
		"reference":          "reference is not carried over: mdsync lists every folder; restrict folders = [...] to the ones under it",
		"idlefolders":        "idlefolders is not carried over: mdsync does not IDLE; run it from cron or a systemd timer",
		"holdconnectionopen": "holdconnectionopen is not carried over: mdsync connects once per run",
		"keepalive":          "keepalive is not carried over: mdsync connects once per run",
	}
	customFlagRe = regexp.MustCompile(`^customflag_[a-z]$`)
)

// checkKeys notes the keys of s that are not in any of the sets, and those
// whose set gives a note.
func (t *translator) checkKeys(s *iniSection, sets ...map[string]string) {
	if t.checked[s] {
		return
	}
	t.checked[s] = true
	for _, k := range s.keys {
		known, text := false, ""
		for _, set := range sets {
			if v, ok := set[k.name]; ok {
				known, text = true, v
				break
			}
		}
		switch {
		case !known && customFlagRe.MatchString(k.name):
			t.note(k.line, "%s is not carried over: mdsync syncs only the flags D, F, P, R, S and T, not keywords", k.name)
		case !known:
			t.note(k.line, "unknown key %q in [%s]: OfflineIMAP ignores it, and so does the import", k.name, s.name)
		case text != "":
			t.note(k.line, "%s", text)
		}
	}
}
