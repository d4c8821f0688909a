# mdsync — see README.md
GO      ?= go
BIN     ?= bin/mdsync
PKGS    ?= ./...
# go test's own timeout; the whole suite runs in a few minutes on 2 cores
TESTFLAGS ?= -timeout 20m

.PHONY: all build test test-short deps dovecot demo bench bench-quick fuzz vet clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/mdsync

# Dovecot (IMAP + POP3) is what the integration tests run against. As root
# this installs it when missing; MDSYNC_REQUIRE_DOVECOT=1 makes its absence a
# failure instead of a skip, so the Dovecot tests never silently vanish.
dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && ! [ -x /usr/sbin/dovecot ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing dovecot-imapd dovecot-pop3d"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd dovecot-pop3d >/dev/null || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd dovecot-pop3d >/dev/null; }; \
		else \
			echo "dovecot is missing: sudo apt-get install dovecot-imapd dovecot-pop3d" >&2; exit 1; \
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
	$(GO) test -run x -fuzz FuzzNameMapping -fuzztime 60s ./maildir/

# The README's first command: a local demo against a bundled in-process
# IMAP server, into ./demo-mail.
demo: build
	$(GO) run ./cmd/mdsync-demo -mdsync $(BIN) -dir demo-mail

bench: build dovecot
	$(GO) run ./cmd/mdsync-bench -mdsync $(BIN)

bench-quick: build dovecot
	$(GO) run ./cmd/mdsync-bench -mdsync $(BIN) -quick

clean:
	rm -rf bin demo-mail
