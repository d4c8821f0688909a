# mdsync — see README.md
GO      ?= go
BIN     ?= bin/mdsync
# the version a build reports: the nearest tag, else the commit; "-dirty"
# for a tree with changes
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS ?= -X github.com/mdsync/mdsync/internal/app.Version=$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=
PKGS    ?= ./...
# go test's own timeout; the whole suite runs in a few minutes on 2 cores
TESTFLAGS ?= -timeout 20m

.PHONY: all build install test test-short test-race deps dovecot demo bench bench-quick fuzz vet clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mdsync

# the binary, the man page and the shell completions
install: build
	install -Dm755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mdsync
	install -Dm644 docs/mdsync.1 $(DESTDIR)$(PREFIX)/share/man/man1/mdsync.1
	install -Dm644 docs/mdsync.toml.5 $(DESTDIR)$(PREFIX)/share/man/man5/mdsync.toml.5
	install -Dm644 contrib/completion/mdsync.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mdsync
	install -Dm644 contrib/completion/_mdsync $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mdsync
	install -Dm644 contrib/completion/mdsync.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mdsync.fish

# the packages whose goroutines share state, under the race detector
test-race: dovecot deps
	MDSYNC_REQUIRE_DOVECOT=1 $(GO) test -race $(TESTFLAGS) ./syncer ./state ./maildir

# Dovecot (IMAP + POP3) is what the integration tests run against, and
# mbsync (Debian isync) and OfflineIMAP (offlineimap3) are the tools whose
# trees and state `mdsync import` adopts (man-db checks the man page). As
# root this installs what is
# missing; MDSYNC_REQUIRE_DOVECOT=1 makes their absence a failure instead of
# a skip, so those tests never silently vanish.
PEER_PKGS = dovecot-imapd dovecot-pop3d isync offlineimap3 man-db
dovecot:
	@missing=""; \
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd dovecot-pop3d"; \
	command -v mbsync >/dev/null 2>&1 || missing="$$missing isync"; \
	command -v offlineimap >/dev/null 2>&1 || missing="$$missing offlineimap3"; \
	command -v man >/dev/null 2>&1 || missing="$$missing man-db"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
		else \
			echo "missing:$$missing: sudo apt-get install $(PEER_PKGS)" >&2; exit 1; \
		fi; \
	fi

deps:
	$(GO) mod download

test: dovecot deps
	MDSYNC_REQUIRE_DOVECOT=1 $(GO) test $(TESTFLAGS) $(PKGS)

# fast unit tests only (no Dovecot)
test-short:
	$(GO) test -short $(PKGS)

vet:
	$(GO) vet $(PKGS)

fuzz:
	$(GO) test -run x -fuzz FuzzPlanConverges -fuzztime 60s ./syncer/
	$(GO) test -run x -fuzz FuzzServerMoves -fuzztime 30s ./syncer/
	$(GO) test -run x -fuzz FuzzNameMapping -fuzztime 60s ./maildir/

# The README's first command: a local demo against a bundled in-process
# IMAP server, into ./demo-mail.
demo:
	@echo "building mdsync and the demo (the first time takes a minute)..."
	@$(MAKE) --no-print-directory build
	$(GO) run ./cmd/mdsync-demo -mdsync $(BIN) -dir demo-mail

bench: build dovecot
	$(GO) run ./cmd/mdsync-bench -mdsync $(BIN)

bench-quick: build dovecot
	$(GO) run ./cmd/mdsync-bench -mdsync $(BIN) -quick

clean:
	rm -rf bin demo-mail demo-mail.mdsync-demo
