// Package syncer reconciles the folders of a channel between an IMAP
// account and a Maildir tree.
//
// # Phases of a run
//
// Run (run.go) goes through five phases, each in a file of its own:
//
//  1. connect (connect.go): log in, LIST-STATUS the server's folders (sent
//     behind the login where the server takes that);
//  2. choose (choose.go): decide per folder what the patterns and the
//     create/remove policies make of it (sync, create, remove, follow a
//     server rename, skip);
//  3. prepare (prepare.go, look.go): tell from the state, the directory
//     mtimes and the LIST-STATUS numbers which folders changed, without a
//     SELECT; finish what an earlier run left in the journal (recover.go);
//     read the local side of the changed ones;
//  4. route and apply (route.go, applyroutes.go): each changed folder takes
//     one of the routes of route.go; its server side is gathered
//     (gather.go, or pipelined for many folders: pipeline.go), matched by
//     content where both sides hold new messages (match.go), planned by the
//     pure planner (plan.go) and applied (apply.go and the step_*.go files);
//  5. report (run.go): the counts, notes and errors in the Result.
//
// # The journal contract
//
// Every side effect is preceded by a committed journal entry naming it
// (journal.go): a fetch's entry carries the key the message will be
// delivered under. The outcome (the pairs in the state) is committed after
// the side effect is durable (files fsynced, server answered), in the same
// transaction that removes the entry (record.go). A run that dies between
// the two leaves the entry, and the next run's recoverFolder finishes it
// by looking at the world: a delivered file is kept and paired, anything
// else is forgotten and planned again from both sides, and content
// matching links what landed without being recorded. The journal is read
// per owner (state.ChannelOwner): a channel never sees a POP account's
// entries, or another channel's.
//
// # Who owns what
//
// A folder's work value is owned by one goroutine at a time: Run's between
// phases, then the one goroutine a phase hands the folder to (a look, a
// local worker, the pipeline, a connection worker, a batch, the committer
// recording its outcome), which writes only that folder's fields. A
// connection worker's lane (lane.go) belongs to that worker alone: what one
// folder sends ahead for the next goes on the lane, never into the next
// folder. Work on another folder's files (a move-in takes the file of the
// folder a message left) goes through a maildir.Folder value of its own,
// never the other folderSync's. What folders share is shared through the Result (locked by
// Result.add), the connection pool (its own lock) and the state DB.
package syncer
