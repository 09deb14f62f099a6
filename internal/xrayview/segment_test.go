package xrayview_test

import (
	"fmt"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

func TestResponseTime(t *testing.T) {
	start, end := 10.0, 10.0004
	for _, c := range []struct {
		seg  xrayview.Segment
		want float64
		ok   bool
	}{
		{xrayview.Segment{Start: 10, End: 10.25}, 0.25, true},
		{xrayview.Segment{Start: start, End: end}, end - start, true}, // not rounded: callers round what they report
		{xrayview.Segment{Start: 10, End: 10}, 0, true},
		{xrayview.Segment{Start: 10}, 0, false},
		{xrayview.Segment{Start: 10, End: 11, InProgress: true}, 0, false},
		{xrayview.Segment{Start: 10, End: 9}, 0, false},
		{xrayview.Segment{Start: -2, End: -1}, 0, false},
	} {
		got, ok := xrayview.ResponseTime(&c.seg)
		if got != c.want || ok != c.ok {
			t.Errorf("ResponseTime(%+v) = %v, %v; want %v, %v", c.seg, got, ok, c.want, c.ok)
		}
	}
}

func TestRootIndex(t *testing.T) {
	id := func(n byte) model.SpanID { return model.SpanID{7: n} }
	for _, c := range []struct {
		name string
		segs []xrayview.Segment
		want int
	}{
		{"none", nil, -1},
		{"only subsegments", []xrayview.Segment{{ID: id(1), Subsegment: true}}, -1},
		{"the earliest without a parent", []xrayview.Segment{
			{ID: id(1), Start: 5}, {ID: id(2), Start: 3}, {ID: id(3), ParentID: id(9), Start: 1}}, 1},
		{"inferred segments are not roots", []xrayview.Segment{{ID: id(1), Start: 1, Inferred: true}, {ID: id(2), Start: 2}}, 1},
		{"else the earliest whose parent is missing", []xrayview.Segment{
			{ID: id(1), ParentID: id(2), Start: 1}, {ID: id(2), ParentID: id(8), Start: 4}, {ID: id(3), ParentID: id(9), Start: 3}}, 2},
	} {
		if got := xrayview.RootIndex(c.segs); got != c.want {
			t.Errorf("%s: RootIndex = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestBuildGraph(t *testing.T) {
	id := func(n byte) model.SpanID { return model.SpanID{7: n} }
	segs := []xrayview.Segment{
		{ID: id(1), Name: "web", Origin: "AWS::EC2::Instance", AccountID: "1"},
		{ID: id(2), ParentID: id(1), Subsegment: true, Namespace: "remote", Name: "api"},
		{ID: id(3), ParentID: id(2), Name: "api"},
		{ID: id(4), ParentID: id(3), Subsegment: true, Name: "handler"},
		{ID: id(5), ParentID: id(4), Subsegment: true, Namespace: "aws", Name: "DynamoDB", TableName: "users"},
		{ID: id(6), ParentID: id(4), Subsegment: true, Namespace: "aws", Name: "SNS"},
		{ID: id(7), ParentID: id(4), Subsegment: true, Name: "db", SQL: true},
		{ID: id(8), ParentID: id(4), Subsegment: true, Namespace: "remote", Name: "geo"},
		{ID: id(9), ParentID: id(4), Subsegment: true, Namespace: "local", Name: "work"},
	}
	g := xrayview.BuildGraph(segs)
	var nodes []string
	for _, n := range g.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s/%s/%s inferred=%v client=%v %v", n.Name, n.Type, n.AccountID, n.Inferred, n.Client, n.Segments))
	}
	want := []string{
		"web/AWS::EC2::Instance/1 inferred=false client=false [0]",
		"api// inferred=false client=false [2]",
		"users/AWS::DynamoDB::Table/ inferred=true client=false [4]",
		"SNS/AWS::SNS/ inferred=true client=false [5]",
		"db/Database::SQL/ inferred=true client=false [6]",
		"geo/remote/ inferred=true client=false [7]",
		"web/client/ inferred=false client=true []",
	}
	if fmt.Sprint(nodes) != fmt.Sprint(want) {
		t.Errorf("nodes\n got %q\nwant %q", nodes, want)
	}
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, fmt.Sprintf("%s->%s by %d", g.Nodes[e.From].Name, g.Nodes[e.To].Name, e.Caller))
	}
	wantEdges := []string{"web->web by 0", "web->api by 1", "api->users by 4", "api->SNS by 5", "api->db by 6", "api->geo by 7"}
	if fmt.Sprint(edges) != fmt.Sprint(wantEdges) {
		t.Errorf("edges\n got %q\nwant %q", edges, wantEdges)
	}
}
