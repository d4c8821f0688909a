package watch

import (
	"context"
	"testing"
	"time"
)

func TestPollerSendsFullPasses(t *testing.T) {
	out := make(chan Trigger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Poller{Target: "work", Every: 20 * time.Millisecond}).Run(ctx, out) }()
	for i := 0; i < 3; i++ {
		select {
		case tr := <-out:
			if tr.Target != "work" || !tr.Full || tr.Source != SourcePoll {
				t.Fatalf("trigger %d = %+v, want a full poll of work", i, tr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no poll trigger %d within 5s", i)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
