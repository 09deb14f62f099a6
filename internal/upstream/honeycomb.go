package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// batch takes the leading items whose bodies fit one request.
func (s *honeycombSender) batch(items []Item) int {
	size := 2
	for i, it := range items {
		size += len(it.Body) + 1
		if i == honeycombMaxBatchEvents || size > HoneycombMaxBatchBytes && i > 0 {
			return i
		}
	}
	return len(items)
}

// send posts items to /1/batch/{dataset}, one request per dataset, and
// reports each one's fate. When the first request fails in a way worth
// retrying, so does send (the target is down or busy); any other failure
// of a request (a permanent 4xx, a later request's) is its items'
// outcome.
func (s *honeycombSender) send(ctx context.Context, items []Item) ([]outcome, error) {
	var order []string
	groups := map[string][]int{}
	for i, it := range items {
		if _, ok := groups[it.Key]; !ok {
			order = append(order, it.Key)
		}
		groups[it.Key] = append(groups[it.Key], i)
	}
	out := make([]outcome, len(items))
	for g, key := range order {
		idx := groups[key]
		outs, err := s.post(ctx, key, items, idx)
		if err != nil {
			var o outcome
			var re retryErr
			var pe permanentErr
			if g == 0 && !errors.As(err, &pe) {
				return nil, err
			}
			switch {
			case errors.As(err, &pe):
				o = outcome{drop: pe.reason, msg: err.Error()}
			case errors.As(err, &re):
				o = outcome{retry: true, reason: re.reason, msg: err.Error()}
			default:
				o = outcome{retry: true, reason: "network", msg: err.Error()}
			}
			for _, i := range idx {
				out[i] = o
			}
			continue
		}
		for k, i := range idx {
			out[i] = outs[k]
		}
	}
	return out, nil
}

// post sends the items idx of one dataset.
func (s *honeycombSender) post(ctx context.Context, dataset string, items []Item, idx []int) ([]outcome, error) {
	size := 2
	for _, i := range idx {
		size += len(items[i].Body) + 1
	}
	body := make([]byte, 0, size)
	body = append(body, '[')
	for k, i := range idx {
		if k > 0 {
			body = append(body, ',')
		}
		body = append(body, items[i].Body...)
	}
	body = append(body, ']')
	u := strings.TrimSuffix(s.base.String(), "/") + "/1/batch/" + url.PathEscape(dataset)
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
	out := make([]outcome, len(idx))
	if err := json.Unmarshal(rb, &statuses); err != nil || len(statuses) != len(idx) {
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
