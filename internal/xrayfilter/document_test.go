package xrayfilter

import (
	"os"
	"reflect"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

func mustSpanID(t testing.TB, s string) model.SpanID {
	t.Helper()
	id, err := model.ParseSpanID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSegmentsFromDocument(t *testing.T) {
	doc, err := os.ReadFile("testdata/segment.json")
	if err != nil {
		t.Fatal(err)
	}
	segs, err := SegmentsFromDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	root := mustSpanID(t, "70de5b6f19ff9a0a")
	dynamo := mustSpanID(t, "9b0d3a2a7f2c9c01")
	want := []Segment{
		{
			ID: root, Name: "backend-flask", Origin: "AWS::EC2::Instance", AccountID: "123456789012",
			Start: 1478293361.271, End: 1478293361.449, Fault: true, User: "alice",
			ResourceARN: "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
			InstanceID:  "i-0abc", AvailabilityZone: "us-east-1a",
			HTTP: HTTP{Method: "POST", URL: "https://api.example.com/api/activities", UserAgent: "curl/8.5",
				ClientIP: "78.255.233.48", Status: 502},
			Annotations: map[string]model.Value{"gameid": model.Str("817DL6VO"), "age": model.Int(30),
				"score": model.Float(9.5), "vip": model.Bool(true)},
		},
		{ID: dynamo, ParentID: root, Subsegment: true, Name: "DynamoDB", Namespace: "aws", TableName: "activities",
			AccountID: "123456789012", Start: 1478293361.3, End: 1478293361.4, Fault: true},
		{ID: mustSpanID(t, "9b0d3a2a7f2c9c02"), ParentID: dynamo, Subsegment: true, Name: "marshal",
			Start: 1478293361.31, End: 1478293361.32},
		{ID: mustSpanID(t, "9b0d3a2a7f2c9c03"), ParentID: root, Subsegment: true, Name: "postgres@db.example.com",
			Namespace: "remote", SQL: true, Start: 1478293361.4, End: 1478293361.44, HTTP: HTTP{Status: 200}},
	}
	if !reflect.DeepEqual(segs, want) {
		t.Fatalf("segments:\n got %+v\nwant %+v", segs, want)
	}

	tr := &Trace{Segments: segs}
	for expr, wantMatch := range map[string]bool{
		`service("backend-flask") { fault AND http.status = 502 }`:                          true,
		`service("activities") { fault }`:                                                   true,
		`edge("backend-flask", id(name: "postgres@db.example.com", type: "Database::SQL"))`: true,
		`annotation.age = 30 AND annotation.score < 10 AND annotation.vip = true`:           true,
		`annotation.bad`: false,
		`http.url ENDSWITH "/activities" AND http.method = "POST"`:   true,
		`instance.id = "i-0abc" AND availabilityzone = "us-east-1a"`: true,
		`service("marshal")`: false,
		`partial`:            false,
	} {
		if got := mustParse(t, expr).Match(tr, nil); got != wantMatch {
			t.Errorf("%s: Match = %v, want %v", expr, got, wantMatch)
		}
	}
}

func TestSegmentsFromDocumentShapes(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Segment
	}{
		{"independent subsegment",
			`{"type":"subsegment","id":"0000000000000002","parent_id":"0000000000000001","name":"x","start_time":1,"in_progress":true,"end_time":5}`,
			Segment{ID: sid(2), ParentID: sid(1), Subsegment: true, Name: "x", Start: 1, InProgress: true}},
		{"status -1 and a bad id", `{"id":"zz","name":"a","http":{"response":{"status":-1}}}`, Segment{Name: "a"}},
		{"inferred, ecs zone", `{"id":"0000000000000003","name":"a","inferred":true,"aws":{"ecs":{"availability_zone":"eu-west-1b"}}}`,
			Segment{ID: sid(3), Name: "a", Inferred: true, AvailabilityZone: "eu-west-1b"}},
		{"huge integer annotation", `{"name":"a","annotations":{"n":1e3,"big":123456789012345678901234}}`,
			Segment{Name: "a", Annotations: map[string]model.Value{"n": model.Float(1000), "big": model.Float(123456789012345678901234)}}},
	}
	for _, tt := range tests {
		segs, err := SegmentsFromDocument([]byte(tt.doc))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(segs) != 1 || !reflect.DeepEqual(segs[0], tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, segs, tt.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"name": 5}`, `{"start_time": "x"}`, `{"subsegments": {}}`} {
		if _, err := SegmentsFromDocument([]byte(bad)); err == nil {
			t.Errorf("SegmentsFromDocument(%q): want an error", bad)
		}
	}
}

func FuzzSegmentsFromDocument(f *testing.F) {
	if doc, err := os.ReadFile("testdata/segment.json"); err == nil {
		f.Add(doc)
	}
	f.Add([]byte(`{"type":"subsegment","id":"0000000000000002","parent_id":"0000000000000001","subsegments":[{"id":"0000000000000003"}]}`))
	f.Add([]byte(`{"annotations":{"a":1,"b":"x","c":true,"d":1.5e300},"http":{"response":{"status":"404"}}}`))
	e := mustParse(f, `service() { fault } OR edge("a", "b") OR annotation.a > 0 OR partial OR duration > 1`)
	f.Fuzz(func(t *testing.T, doc []byte) {
		segs, err := SegmentsFromDocument(doc)
		if err != nil {
			return
		}
		if len(segs) == 0 {
			t.Fatal("a decoded document gives at least one segment")
		}
		for _, s := range segs[1:] {
			if !s.Subsegment {
				t.Fatal("embedded subsegments must be marked as subsegments")
			}
		}
		e.Match(&Trace{Segments: segs}, nil)
	})
}
