package app

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mdsync/mdsync/syncer"
)

// TestChannelCountsAreSyncersCounts: channelCounts names every count of
// syncer.Result that has a JSON name, by that name and with its value, and
// nothing else: the counts --json, status and the hooks show are the ones
// syncer's Result has always marshalled to. A count added to syncer.Result
// fails this test until it is given its name in channelCounts (and the
// README).
func TestChannelCountsAreSyncersCounts(t *testing.T) {
	res := &syncer.Result{}
	v := reflect.ValueOf(res).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.CanSet() && f.Kind() == reflect.Int {
			f.SetInt(int64(i + 1)) // a value of its own per field
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for k, x := range all {
		if n, ok := x.(float64); ok {
			want[k] = int(n)
		}
	}
	got := channelCounts(res)
	for k, n := range want {
		if m, ok := got[k]; !ok {
			t.Errorf("syncer.Result has the count %q, which channelCounts does not name", k)
		} else if m != n {
			t.Errorf("channelCounts[%q] = %d, not syncer.Result's %d", k, m, n)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("channelCounts names %q, which syncer.Result does not count", k)
		}
	}
}
