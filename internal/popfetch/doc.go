// Package popfetch fetches the messages of a POP account one way into a
// Maildir folder's new/, exactly once, however often it runs and wherever it
// is killed. It knows nothing of the config: its caller fills Options.
//
// One run:
//
//  1. Recovery: every pending "pop-deliver" journal entry of the account is
//     finished (its file exists in the folder: the UIDL is recorded as
//     delivered) or forgotten (its tmp/ file, if any, is removed).
//  2. Connect (implicit TLS by default, STLS for mailnet.TLSStartTLS, no
//     TLS for mailnet.TLSNone, which the config allows only as
//     mailnet.PlaintextAllowed says), log in, LIST and UIDL. A server
//     without UIDL gets a fingerprint of each message instead: "fp:" + the
//     hex SHA-256 of its TOP n 0 headers and its size (two messages with
//     identical headers and size are then one message: the second is skipped
//     with a warning).
//  3. Fetch, in batches: the intents of a batch (UIDL + the Maildir key the
//     message will get) are committed to the journal BEFORE any RETR; each
//     message is streamed from RETR into tmp/, fsynced and renamed into new/
//     (the directory fsync is deferred); after the batch new/ is fsynced and
//     ONE transaction records the UIDLs and removes the journal entries.
//  4. DELE only the messages whose UIDL is recorded as delivered and that the
//     delete policy selects; after QUIT succeeds they are marked Deleted.
//     UIDLs recorded earlier that are no longer on the server are pruned.
//
// A -ERR to RETR or a message shorter than the size LIST announced skips that
// message (nothing is left in new/, nothing recorded; it is tried again next
// run) and the run ends with an error after fetching the others. A transport
// failure (timeout, dropped connection, a body without its terminating dot)
// ends the run at once; what was delivered before is recorded.
package popfetch
