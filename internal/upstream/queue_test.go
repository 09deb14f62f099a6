package upstream

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func frames(t testing.TB, key string, bodies ...string) ([]byte, int) {
	t.Helper()
	var b []byte
	for _, body := range bodies {
		b = appendFrame(b, 1, key, []byte(body))
	}
	return b, len(bodies)
}

func bodiesOf(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it.Body)
	}
	return out
}

func mustAppend(t testing.TB, q *Queue, key string, bodies ...string) int {
	t.Helper()
	fr, n := frames(t, key, bodies...)
	dropped, err := q.Append(fr, n)
	if err != nil {
		t.Fatal(err)
	}
	return dropped
}

func TestQueueAppendPeekAckSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	q, corrupt, err := OpenQueue(dir, 4<<20)
	if err != nil || corrupt != 0 {
		t.Fatal(err, corrupt)
	}
	mustAppend(t, q, "ds", "a", "b", "c")
	mustAppend(t, q, "ds2", "d")
	items, err := q.Peek(2, 1<<20)
	if err != nil || fmt.Sprint(bodiesOf(items)) != "[a b]" || items[0].Key != "ds" {
		t.Fatalf("peek: %v %v", bodiesOf(items), err)
	}
	// Peek does not consume.
	again, _ := q.Peek(10, 1<<20)
	if fmt.Sprint(bodiesOf(again)) != "[a b c d]" || again[3].Key != "ds2" {
		t.Fatalf("peek again: %v", bodiesOf(again))
	}
	if err := q.Ack(items[1].End, 2); err != nil {
		t.Fatal(err)
	}
	if b, n := q.Stats(); n != 2 || b <= 0 {
		t.Fatalf("stats after ack: %d bytes %d records", b, n)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q, _, err = OpenQueue(dir, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	items, _ = q.Peek(10, 1<<20)
	if fmt.Sprint(bodiesOf(items)) != "[c d]" {
		t.Fatalf("after reopen: %v", bodiesOf(items))
	}
	if _, n := q.Stats(); n != 2 {
		t.Fatalf("records after reopen: %d", n)
	}
	if (q.RedeliverTo() != Pos{}) {
		t.Fatalf("nothing was in flight, yet RedeliverTo = %+v", q.RedeliverTo())
	}
}

func TestQueueRedeliversTheBatchInFlight(t *testing.T) {
	dir := t.TempDir()
	q, _, _ := OpenQueue(dir, 4<<20)
	mustAppend(t, q, "", "a", "b", "c")
	items, _ := q.Peek(2, 1<<20)
	if err := q.MarkInflight(items[1].End); err != nil {
		t.Fatal(err)
	}
	// The process dies here: no Ack.
	q.Close()
	q, _, _ = OpenQueue(dir, 4<<20)
	defer q.Close()
	if got := q.RedeliverTo(); got != items[1].End {
		t.Fatalf("RedeliverTo = %+v, want %+v", got, items[1].End)
	}
	again, _ := q.Peek(10, 1<<20)
	if fmt.Sprint(bodiesOf(again)) != "[a b c]" {
		t.Fatalf("after restart: %v", bodiesOf(again))
	}
}

func TestQueueCutsATornTail(t *testing.T) {
	dir := t.TempDir()
	q, _, _ := OpenQueue(dir, 4<<20)
	mustAppend(t, q, "", "whole")
	q.Close()
	// A write cut by a crash before its fsync: half a frame.
	seg := filepath.Join(dir, fmt.Sprintf("%020d.seg", 1))
	fr, _ := frames(t, "", "cut-short")
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(fr[:len(fr)-3])
	f.Close()

	q, corrupt, err := OpenQueue(dir, 4<<20)
	if err != nil || corrupt != 1 {
		t.Fatalf("corrupt = %d, %v; want 1", corrupt, err)
	}
	mustAppend(t, q, "", "next")
	items, err := q.Peek(10, 1<<20)
	if err != nil || fmt.Sprint(bodiesOf(items)) != "[whole next]" {
		t.Fatalf("after cutting the tail: %v %v", bodiesOf(items), err)
	}
	q.Close()
}

func TestQueueRotatesAndDeletesAckedSegments(t *testing.T) {
	dir := t.TempDir()
	q, _, _ := OpenQueue(dir, 1<<20) // segments of 128 KiB
	body := string(bytes.Repeat([]byte("x"), 10<<10))
	for range 40 {
		mustAppend(t, q, "", body)
	}
	segs := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		return len(m)
	}
	if n := segs(); n < 3 {
		t.Fatalf("%d segments for 400 KiB in 128 KiB segments", n)
	}
	total := 0
	for {
		items, err := q.Peek(7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		total += len(items)
		if err := q.Ack(items[len(items)-1].End, len(items)); err != nil {
			t.Fatal(err)
		}
	}
	if total != 40 {
		t.Fatalf("read %d records, want 40", total)
	}
	if b, n := q.Stats(); b != 0 || n != 0 {
		t.Fatalf("after reading everything: %d bytes %d records", b, n)
	}
	if n := segs(); n != 1 {
		t.Fatalf("%d segments left; want only the one being written", n)
	}
	q.Close()
}

func TestQueueFullDropsOldest(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 1 << 20
	q, _, _ := OpenQueue(dir, maxBytes)
	defer q.Close()
	body := string(bytes.Repeat([]byte("y"), 10<<10))
	dropped := 0
	for i := range 300 { // 3 MB into 1 MiB
		dropped += mustAppend(t, q, "", fmt.Sprintf("%04d", i)+body)
		if b, _ := q.Stats(); b > maxBytes {
			t.Fatalf("queue holds %d bytes, over its bound %d", b, maxBytes)
		}
	}
	_, left := q.Stats()
	if dropped == 0 || dropped+left != 300 {
		t.Fatalf("dropped %d, left %d: want some dropped and every record either left or dropped", dropped, left)
	}
	items, _ := q.Peek(1, 1<<20)
	if want := fmt.Sprintf("%04d", dropped); string(items[0].Body[:4]) != want {
		t.Fatalf("oldest left is %s, want %s (the oldest are dropped first)", items[0].Body[:4], want)
	}
	if _, err := q.Append(make([]byte, maxBytes), 1); err != ErrTooLarge {
		t.Fatalf("an append over half the bound: %v", err)
	}
}

func TestQueueReadsARecordLargerThanThePeekBound(t *testing.T) {
	q, _, _ := OpenQueue(t.TempDir(), 8<<20)
	defer q.Close()
	big := string(bytes.Repeat([]byte("z"), 300<<10))
	mustAppend(t, q, "k", big, "small")
	items, err := q.Peek(10, 1000)
	if err != nil || len(items) != 1 || string(items[0].Body) != big {
		t.Fatalf("peek of a large record: %d items %v", len(items), err)
	}
}
