package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Honeycomb's Events API limits (its documentation, and what libhoney and
// tracecomb's own Events API door enforce): a /1/batch body of at most
// 5,000,000 bytes as sent, an event of at most 1,000,000 bytes.
const (
	HoneycombMaxBatchBytes = 5_000_000
	HoneycombMaxEventBytes = 1_000_000
	// honeycombMaxBatchEvents is this sender's own bound on events per
	// request.
	honeycombMaxBatchEvents = 1000
)

// AppendHoneycombEvent appends ev as one element of a /1/batch body:
// {"data":{…every field…},"time":"…","samplerate":N}. The fields are the
// event's as tracecomb stores them (hot fields under their Honeycomb
// names, then the attributes); samplerate is written when above 1.
func AppendHoneycombEvent(dst []byte, ev *model.Event) []byte {
	dst = append(dst, `{"data":{`...)
	first := true
	ev.Range(func(k string, v model.Value) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = model.Str(k).AppendJSON(dst)
		dst = append(dst, ':')
		dst = v.AppendJSON(dst)
		return true
	})
	dst = append(dst, `},"time":"`...)
	dst = ev.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if ev.SampleRate > 1 {
		dst = append(dst, `,"samplerate":`...)
		dst = strconv.AppendInt(dst, ev.SampleRate, 10)
	}
	return append(dst, '}')
}

// honeycombSender posts batches to an Events API.
type honeycombSender struct {
	base   *url.URL
	key    string
	client *http.Client
}

func newHoneycombSender(rawURL, key string, client *http.Client) (*honeycombSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("honeycomb URL %q: want http(s)://host[:port]", rawURL)
	}
	if key == "" {
		return nil, fmt.Errorf("a Honeycomb API key is needed to forward to %s", rawURL)
	}
	return &honeycombSender{base: u, key: key, client: client}, nil
}

func (s *honeycombSender) target() string { return "honeycomb" }

// batch takes the leading items of one dataset that fit one request.
func (s *honeycombSender) batch(items []Item) int {
	size := 2
	for i, it := range items {
		if it.Key != items[0].Key || i == honeycombMaxBatchEvents {
			return i
		}
		size += len(it.Body) + 1
		if size > HoneycombMaxBatchBytes && i > 0 {
			return i
		}
	}
	return len(items)
}

// send posts one dataset's items to /1/batch/{dataset} and reports each
// one's fate.
func (s *honeycombSender) send(ctx context.Context, items []Item) ([]outcome, error) {
	body := make([]byte, 0, 2+len(items)*256)
	body = append(body, '[')
	for i, it := range items {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, it.Body...)
	}
	body = append(body, ']')
	u := strings.TrimSuffix(s.base.String(), "/") + "/1/batch/" + url.PathEscape(items[0].Key)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, permanentErr{reason: "rejected", err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Honeycomb-Team", s.key)
	req.Header.Set("User-Agent", "tracecomb-forward")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, retryErr{reason: "network", err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, retryErr{reason: "network", err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusErr(resp, rb)
	}
	var statuses []struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
	}
	out := make([]outcome, len(items))
	if err := json.Unmarshal(rb, &statuses); err != nil || len(statuses) != len(items) {
		// 200 without per-event answers: the request was taken.
		return out, nil
	}
	for i, st := range statuses {
		switch {
		case st.Status >= 200 && st.Status < 300:
		case st.Status == http.StatusTooManyRequests || st.Status >= 500:
			out[i] = outcome{retry: true, msg: st.Error}
		default:
			out[i] = outcome{drop: "event_rejected", msg: fmt.Sprintf("%d %s", st.Status, st.Error)}
		}
	}
	return out, nil
}

// statusErr classifies an HTTP failure: 429 and 5xx are retried (after
// Retry-After when given), other statuses are permanent.
func statusErr(resp *http.Response, body []byte) error {
	msg := fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body[:min(len(body), 512)]))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		e := retryErr{reason: "status_" + strconv.Itoa(resp.StatusCode/100) + "xx", err: fmt.Errorf("%s", msg)}
		if resp.StatusCode == http.StatusTooManyRequests {
			e.reason = "status_429"
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.after = time.Duration(secs) * time.Second
		}
		return e
	}
	return permanentErr{reason: "rejected", err: fmt.Errorf("%s", msg)}
}
