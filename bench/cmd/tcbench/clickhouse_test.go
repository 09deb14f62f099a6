package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSpliceClickHouse(t *testing.T) {
	measured := chBegin + "\n| figure | 1 |\n" + chEnd + "\n"
	doc := "# Benchmarks\n\n## Results\n\nr\n\n" + retentionHeading + "\n\nret\n\n## Goals\n\ng\n"
	// No section yet: a new one before Retention.
	once := spliceClickHouse(doc, measured)
	want := "# Benchmarks\n\n## Results\n\nr\n\n" + chHeading + "\n\n" + measured + "\n" + retentionHeading + "\n\nret\n\n## Goals\n\ng\n"
	if once != want {
		t.Fatalf("inserted:\n%s\nwant\n%s", once, want)
	}
	// Hand text around the markers stays; only the measured part changes.
	hand := strings.Replace(once, chHeading+"\n\n", chHeading+"\n\nHand text before.\n\n### Sub\n\n", 1)
	hand = strings.Replace(hand, chEnd+"\n", chEnd+"\n\nHand text after.\n", 1)
	again := spliceClickHouse(hand, strings.Replace(measured, "| 1 |", "| 2 |", 1))
	for _, w := range []string{"Hand text before.\n\n### Sub\n\n" + chBegin + "\n| figure | 2 |\n" + chEnd + "\n\nHand text after.\n\n" + retentionHeading} {
		if !strings.Contains(again, w) {
			t.Fatalf("replaced:\n%s", again)
		}
	}
	if strings.Count(again, chBegin) != 1 || strings.Contains(again, "| 1 |") || !strings.HasSuffix(again, "## Goals\n\ng\n") {
		t.Fatalf("replaced:\n%s", again)
	}
	// A section without markers gets them at its end.
	bare := "## Results\n\nr\n\n" + chHeading + "\n\nhand\n\n## Goals\n"
	if got := spliceClickHouse(bare, measured); got != "## Results\n\nr\n\n"+chHeading+"\n\nhand\n\n"+measured+"\n## Goals\n" {
		t.Fatalf("no markers:\n%q", got)
	}
	// A full run (make bench) carries the section over, hand text and all.
	fresh := "# Benchmarks\n\n## Results\n\nnew\n\n" + retentionHeading + "\n\nnew ret\n\n## Goals\n\ng\n"
	if kept := keepHandSections(again, fresh); !strings.Contains(kept, "Hand text before.") || !strings.Contains(kept, "| figure | 2 |") ||
		!strings.Contains(kept, "Hand text after.\n\n"+retentionHeading+"\n\nnew ret") {
		t.Fatalf("make bench dropped the section:\n%s", kept)
	}
}

// The committed report's ClickHouse section survives a full run.
func TestReportKeepsClickHouseSection(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(doc), chHeading)
	if i < 0 {
		t.Fatalf("docs/benchmarks.md has no %q section", chHeading)
	}
	sec := string(doc[i:])
	if j := strings.Index(sec, "\n## "); j >= 0 {
		sec = sec[:j+1]
	}
	if !strings.Contains(sec, chBegin) || !strings.Contains(sec, chEnd) {
		t.Fatal("the ClickHouse section lacks its measured part's markers")
	}
	fresh := "# Benchmarks\n\n## Results\n\nnew\n\n" + retentionHeading + "\n\nnew ret\n\n## Goals\n\ng\n"
	if kept := keepHandSections(string(doc), fresh); !strings.Contains(kept, sec) {
		t.Fatal("a full run would drop or change the ClickHouse section")
	}
}

func TestParseParts(t *testing.T) {
	got, err := parseParts("events\t100\t3\t5000\t20000\t5400\ntraces\t10\t1\t300\t900\t420\n")
	if err != nil || len(got) != 2 || got[0] != (tableBytes{"events", 100, 3, 5000, 20000, 5400}) || got[1].OnDisk != 420 {
		t.Fatalf("parseParts = %+v, %v", got, err)
	}
	b := chBytes{Spans: 100, Tables: got, Dir: 8192}
	if c := b.perSpan(b.sum(func(t tableBytes) int64 { return t.Compressed })); c != 53 {
		t.Errorf("compressed per span = %v, want 53", c)
	}
	for _, bad := range []string{"events\t1\t2\n", "events\tx\t1\t2\t3\t4\n"} {
		if _, err := parseParts(bad); err == nil {
			t.Errorf("parseParts(%q) took it", bad)
		}
	}
}

func TestGroupCountOK(t *testing.T) {
	rows := func(n int, count float64) []map[string]any {
		var out []map[string]any
		for i := 0; i < n; i++ {
			out = append(out, map[string]any{"service.name": "svc", "COUNT": count, "P99(duration_ms)": 49.5})
		}
		return out
	}
	if !groupCountOK(rows(10, 100), 1000) {
		t.Error("10 groups of 100 for 1000 spans refused")
	}
	if groupCountOK(rows(10, 100), 1001) || groupCountOK(rows(9, 100), 900) {
		t.Error("a wrong count or group number taken")
	}
	r := rows(10, 100)
	delete(r[3], "P99(duration_ms)")
	if groupCountOK(r, 1000) {
		t.Error("a group without P99 taken")
	}
}

func TestChMarkdown(t *testing.T) {
	r := &chReport{Sizes: chSizes{IngestSpans: 1000, Spans: 10_000, Chunk: 500, Concurrency: 16, TracesPerBatch: 50, DuckDB: true, Optimize: true},
		Versions: map[string]string{"clickhouse": "18.16.1", "tracecomb": "abc"}, Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Took: time.Minute,
		One:    chIngest{Label: "ClickHouse, one node", Nodes: 1, Spans: 1000, Seconds: 2, SpansPS: 500, CPUNodes: 1, CPUServer: 2, CPUGen: 0.2},
		Two:    chIngest{Label: "ClickHouse, two nodes", Nodes: 2, Spans: 1000, Seconds: 1.25, SpansPS: 800, CPUNodes: 1, CPUServer: 1.5, CPUGen: 0.2},
		DuckDB: chIngest{Label: "DuckDB, one node", Nodes: 1, Spans: 1000, Seconds: 1, SpansPS: 1000, CPUNodes: 0.9}, DuckDBDisk: 75_000,
		Load:   chIngest{Spans: 9000, Seconds: 9, SpansPS: 1000},
		Stored: 10_000, ByID: []float64{10, 20, 30}, ByIDFound: 3, Group: []float64{100, 200}, GroupOK: 2,
		Bytes:    chBytes{Spans: 10_000, Tables: []tableBytes{{"events", 10_000, 5, 1_000_000, 4_000_000, 1_010_000}}, Dir: 1_100_000},
		BytesOpt: chBytes{Spans: 10_000, Tables: []tableBytes{{"events", 10_000, 1, 900_000, 4_000_000, 905_000}}, Dir: 950_000}, OptimizeTook: 3 * time.Second,
	}
	md := chMarkdown(r, "cd bench && go run ./cmd/tcbench -clickhouse")
	for _, want := range []string{chBegin, chEnd, "| ClickHouse, one node | 500 | 2.0 | 1.0 (0.50) | 2.0 (1.00) | 0.2 (0.10) | 333 | 0 | 0 | 0 |",
		"Two nodes / one node: **1.60×**", "| DuckDB, one node | 1000 | 1.0 | 0.9 (0.90) | n/a |", "| trace by id, `GET /api/traces/{id}` | 3 | 20.0 | 20.0 | 3 found",
		"| 2 | 100 | 100 | 2 with 10 groups", "| ClickHouse, two nodes, as loaded, 10000 | 100.0 | 101.0 | 110.0 | 400.0 |",
		"after OPTIMIZE … FINAL (3s), 10000 | 90.0 | 90.5 | 95.0 |", "| DuckDB, 1000 | | | 75.0 | |", "| events | 10000 | 1 | 900000 | 90.0 |", "9000 spans", "took 1m."} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
}

// The harness's own clickhouse-server starts, answers, and its
// system.parts and data directory are what the bytes figures read.
func TestClickHouseServer(t *testing.T) {
	if _, _, err := chBinary(); err != nil {
		t.Fatal(err) // the scenario needs it; scripts/test.sh installs it
	}
	ctx := context.Background()
	ch, err := startClickHouse(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.kill() // a clean stop takes 18.16 about 10 s
	for _, q := range []string{"CREATE DATABASE tcbench_t", "CREATE TABLE tcbench_t.events (x UInt64) ENGINE = MergeTree ORDER BY x",
		"INSERT INTO tcbench_t.events SELECT number FROM system.numbers LIMIT 1000"} {
		if _, err := ch.query(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	b, err := chSize(ctx, ch, "tcbench_t")
	if err != nil {
		t.Fatal(err)
	}
	if b.Spans != 1000 || len(b.Tables) != 1 || b.Tables[0].Rows != 1000 || b.Tables[0].Compressed <= 0 || b.Tables[0].OnDisk < b.Tables[0].Compressed || b.Dir <= 0 {
		t.Fatalf("size = %+v", b)
	}
	if _, err := ch.query(ctx, "SELECT nonsense("); err == nil || !strings.Contains(err.Error(), "Syntax error") {
		t.Errorf("bad statement: %v", err)
	}
}
