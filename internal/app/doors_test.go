package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// TestEachAPIShowsItsOwnDoors: an OTel trace sent to Honeycomb's door and
// an X-Ray segment sent to the daemon with the same trace id. Honeycomb's
// API sees only the OTel span (no dataset named after the segment), the
// X-Ray API only the segment, and /api/traces joins them, each event
// marked with its door and source.
func TestEachAPIShowsItsOwnDoors(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	sc := sendWithSDK(t, "http/protobuf", base, key, "backend-flask")
	tid := model.TraceID(sc.TraceID())
	now := float64(time.Now().UnixNano()) / 1e9
	sendSegment(t, a.Addrs().XRay, map[string]any{
		"name": "127.0.0.1:4567", "id": "70de5b6f19ff9a0a", "trace_id": tid.XRay(),
		"start_time": now - 0.1, "end_time": now, "http": map[string]any{"response": map[string]any{"status": 200}},
	})

	var tr struct {
		Doors  []string         `json:"doors"`
		Events []map[string]any `json:"events"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		getJSON(t, base+"/api/traces/"+tid.String(), key, &tr)
		if slices.Contains(tr.Doors, "xray") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Equal(tr.Doors, []string{"honeycomb", "xray"}) {
		t.Fatalf("doors %v, want honeycomb and xray", tr.Doors)
	}
	marks := map[string]int{}
	for _, ev := range tr.Events {
		marks[ev["meta.tracecomb.door"].(string)+"/"+ev["meta.tracecomb.source"].(string)]++
		if ev["meta.tracecomb.door"] == "xray" && ev["name"] != "127.0.0.1:4567" {
			t.Errorf("X-Ray door event %v", ev)
		}
	}
	if marks["xray/xray"] != 1 || marks["honeycomb/otlp"] < 3 || len(marks) != 2 {
		t.Errorf("events by door/source %v, want the segment from xray and the OTel spans from honeycomb", marks)
	}
	getJSON(t, base+"/api/traces/"+tid.String()+"?door=honeycomb", key, &tr)
	if !slices.Equal(tr.Doors, []string{"honeycomb"}) {
		t.Errorf("?door=honeycomb: doors %v", tr.Doors)
	}

	var datasets []struct{ Name string }
	getJSON(t, base+"/1/datasets", key, &datasets)
	if len(datasets) != 1 || datasets[0].Name != "backend-flask" {
		t.Errorf("Honeycomb's datasets %+v, want backend-flask only", datasets)
	}

	body, _ := json.Marshal(map[string]any{"StartTime": now - 600, "EndTime": now + 60})
	resp, err := http.Post("http://"+a.Addrs().XRay+"/TraceSummaries", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var sums struct {
		TraceSummaries []struct {
			Id         string
			ServiceIds []struct{ Name string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&sums); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(sums.TraceSummaries) != 1 || sums.TraceSummaries[0].Id != tid.XRay() {
		t.Fatalf("X-Ray summaries %+v, want the segment's trace once", sums.TraceSummaries)
	}
	var services []string
	for _, s := range sums.TraceSummaries[0].ServiceIds {
		services = append(services, s.Name)
	}
	if strings.Join(services, ",") != "127.0.0.1:4567" {
		t.Errorf("X-Ray services %v, want only the segment's", services)
	}
}
