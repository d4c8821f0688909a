package mailnet

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestDeadlineConn: a read on a silent server ends after the timeout even
// though the library set no deadline, the connection is then closed and
// stays failed, and a sooner deadline of the library's own wins.
func TestDeadlineConn(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	dc := NewDeadlineConn(client, 50*time.Millisecond)
	dc.SetDeadline(time.Time{}) // what a library does: no deadline
	start := time.Now()
	_, err := dc.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read on a silent server: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the read took %v", d)
	}
	if _, err := dc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a read after the timeout: %v", err)
	}
	if _, err := server.Write([]byte("x")); err == nil {
		t.Error("the timed-out connection is still open")
	}

	client, server = net.Pipe()
	defer server.Close()
	dc = NewDeadlineConn(client, time.Hour)
	dc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := dc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the library's own deadline: %v", err)
	}
}

// TestDeadlineConnNotifyWrite: the channel closes once the command is
// written, not before.
func TestDeadlineConnNotifyWrite(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	dc := NewDeadlineConn(client, time.Second)
	written := dc.NotifyWrite()
	select {
	case <-written:
		t.Fatal("closed before any write")
	default:
	}
	go server.Read(make([]byte, 16))
	if _, err := dc.Write([]byte("A1 NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-written:
	case <-time.After(time.Second):
		t.Fatal("not closed after the write")
	}
}
