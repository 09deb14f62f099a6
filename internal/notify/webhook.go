package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"text/template/parse"

	"golang.org/x/net/http/httpguts"
)

// webhookDetails are the details of a webhook recipient that delivery
// reads, as Honeycomb's Recipients API names them.
type webhookDetails struct {
	URL      string          `json:"webhook_url"`
	Secret   string          `json:"webhook_secret"`
	Headers  []webhookHeader `json:"webhook_headers"`
	Payloads *struct {
		Templates map[string]*struct {
			Body string `json:"body"`
		} `json:"payload_templates"`
		Variables []struct {
			Name    string `json:"name"`
			Default string `json:"default_value"`
		} `json:"template_variables"`
	} `json:"webhook_payloads"`
}

type webhookHeader struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// reservedHeaders are headers a recipient may not set: the request's
// framing and the ones delivery sets itself.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Content-Type": true,
	"X-Honeycomb-Webhook-Token": true, "X-Honeycomb-Webhook-Delivery-Id": true,
}

// templateFuncs are the functions a payload template may call besides
// text/template's own: toJson encodes a value as JSON (for arrays and
// objects such as .Datasets or .Result.Groups).
var templateFuncs = template.FuncMap{
	"toJson": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// decodeWebhook reads a webhook recipient's details, checking the types
// of the fields it uses, the headers and that every payload template
// parses; it returns the parsed templates by kind.
func decodeWebhook(details map[string]any) (webhookDetails, map[string]*template.Template, error) {
	var d webhookDetails
	raw, err := json.Marshal(details)
	if err != nil {
		return d, nil, err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return d, nil, detailError("details."+te.Field, "must be "+jsonKind(te.Type.Kind().String()))
		}
		return d, nil, detailError("details", err.Error())
	}
	for i, h := range d.Headers {
		name := http.CanonicalHeaderKey(strings.TrimSpace(h.Header))
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			return d, nil, detailError(fmt.Sprintf("details.webhook_headers[%d].header", i), fmt.Sprintf("%q is not a header name", h.Header))
		case reservedHeaders[name]:
			return d, nil, detailError(fmt.Sprintf("details.webhook_headers[%d].header", i), name+" is set by the delivery itself")
		case !httpguts.ValidHeaderFieldValue(h.Value):
			return d, nil, detailError(fmt.Sprintf("details.webhook_headers[%d].value", i), "not a valid header value (control characters)")
		}
		d.Headers[i].Header = name
	}
	parsed := map[string]*template.Template{}
	if d.Payloads == nil {
		return d, parsed, nil
	}
	seen := map[string]bool{}
	for i, v := range d.Payloads.Variables {
		switch {
		case strings.TrimSpace(v.Name) == "":
			return d, nil, detailError(fmt.Sprintf("details.webhook_payloads.template_variables[%d].name", i), "is required")
		case seen[v.Name]:
			return d, nil, detailError(fmt.Sprintf("details.webhook_payloads.template_variables[%d].name", i), fmt.Sprintf("%q is defined twice", v.Name))
		}
		seen[v.Name] = true
	}
	for kind, t := range d.Payloads.Templates {
		field := "details.webhook_payloads.payload_templates." + kind
		switch kind {
		case KindTrigger, KindExhaustionTime, KindBudgetRate:
		default:
			return d, nil, detailError(field, fmt.Sprintf("no alert kind %q (trigger, exhaustion_time, budget_rate)", kind))
		}
		if t == nil || strings.TrimSpace(t.Body) == "" {
			return d, nil, detailError(field+".body", "is required")
		}
		tp, err := template.New(kind).Funcs(templateFuncs).Option("missingkey=error").Parse(t.Body)
		if err != nil {
			return d, nil, detailError(field+".body", err.Error())
		}
		for _, def := range tp.Templates() {
			if def.Tree == nil {
				continue
			}
			if err := checkRanges(def.Root); err != nil {
				return d, nil, detailError(field+".body", err.Error())
			}
		}
		parsed[kind] = tp
	}
	return d, parsed, nil
}

// checkRanges refuses a range over a number literal ({{ range 1e9 }}),
// which would keep a delivery busy for as long as the number says.
func checkRanges(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkRanges(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return errors.Join(checkRanges(n.List), checkRanges(n.ElseList))
	case *parse.WithNode:
		return errors.Join(checkRanges(n.List), checkRanges(n.ElseList))
	case *parse.RangeNode:
		if p := n.Pipe; p != nil && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
			if _, isNum := p.Cmds[0].Args[0].(*parse.NumberNode); isNum {
				return fmt.Errorf("line %d: range over a number is not allowed", n.Line)
			}
		}
		return errors.Join(checkRanges(n.List), checkRanges(n.ElseList))
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return goKind
}

// DetailError is what is wrong with one field of a recipient's details.
type DetailError struct {
	// Field is the JSON path of the field, e.g.
	// "details.webhook_payloads.payload_templates.trigger.body".
	Field, Msg string
}

func (e *DetailError) Error() string { return e.Field + ": " + e.Msg }

func detailError(field, msg string) error { return &DetailError{Field: field, Msg: msg} }

// CheckTemplates reports what is wrong with the custom payload parts of
// a webhook recipient's details (Recipients API): the types of its
// fields, webhook_headers, webhook_payloads.template_variables and the
// payload templates, each of which must parse as a Go text/template
// (with toJson) and may not range over a number. The error is a
// *DetailError naming the field; nil when there is nothing wrong.
func CheckTemplates(details map[string]any) error {
	_, _, err := decodeWebhook(details)
	return err
}

// variableOverrides reads the variables an alert's recipient details
// give ([{name, value}]).
func variableOverrides(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var d struct {
		Variables []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"variables"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("the alert's recipient details: %w", err)
	}
	out := map[string]string{}
	for _, v := range d.Variables {
		out[v.Name] = v.Value
	}
	return out, nil
}

// renderWebhook renders the payload template of kind with m's variables
// and the recipient's template variables as .Vars (defaults overridden
// by the alert's values for variables the recipient defines); the result
// must be JSON.
func renderWebhook(d webhookDetails, tp *template.Template, m Message) ([]byte, error) {
	over, err := variableOverrides(m.RecipientDetails)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	for _, v := range d.Payloads.Variables {
		vars[v.Name] = v.Default
		if o, ok := over[v.Name]; ok {
			vars[v.Name] = o
		}
	}
	data := make(map[string]any, len(m.Vars)+1)
	for k, v := range m.Vars {
		data[k] = v
	}
	data["Vars"] = vars
	buf := limitedBuffer{max: maxBody}
	if err := tp.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering the %s payload template: %w", m.Kind, err)
	}
	if err := checkJSON(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("the rendered %s payload template is not JSON: %w", m.Kind, err)
	}
	return buf.Bytes(), nil
}

// maxBody bounds a rendered payload.
const maxBody = 1 << 20

// limitedBuffer is a bytes.Buffer that refuses to grow past max.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("the rendered payload is larger than %d bytes", b.max)
	}
	return b.Buffer.Write(p)
}

// checkJSON is json.Valid with the decoder's error, naming the offset.
func checkJSON(b []byte) error {
	if json.Valid(b) {
		return nil
	}
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v at byte %d", se, se.Offset)
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return err
}

// defaultPayload encodes m.Payload, setting shared_secret when the
// payload has that field.
func defaultPayload(m Message, secret string) ([]byte, error) {
	body, err := json.Marshal(m.Payload)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s payload: %w", m.Kind, err)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil {
		if _, ok := obj["shared_secret"]; ok {
			s, _ := json.Marshal(secret)
			obj["shared_secret"] = s
			return json.Marshal(obj)
		}
	}
	return body, nil
}

func (n *Notifier) webhook(rc Recipient, m Message) (attempt, error) {
	d, templates, err := decodeWebhook(rc.Details)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("details.webhook_url %q: not an http(s) URL", d.URL)
	}
	var body []byte
	if tp := templates[m.Kind]; tp != nil {
		body, err = renderWebhook(d, tp, m)
	} else {
		body, err = defaultPayload(m, d.Secret)
	}
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, wh := range d.Headers {
		h.Add(wh.Header, wh.Value)
	}
	if d.Secret != "" {
		h.Set("X-Honeycomb-Webhook-Token", d.Secret)
	}
	h.Set("X-Honeycomb-Webhook-Delivery-ID", newID(16))
	return func(ctx context.Context) error {
		resp, answer, err := n.post(ctx, d.URL, "application/json", h, body)
		if err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return httpStatusError(resp, answer, "the webhook")
		}
		return nil
	}, nil
}

// maxAnswer is how much of a peer's answer is read.
const maxAnswer = 1 << 16

// post sends body and returns the answer (its first maxAnswer bytes).
func (n *Notifier) post(ctx context.Context, urlStr, contentType string, h http.Header, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, urlStr, bytes.NewReader(body))
	if err != nil {
		return nil, nil, permanent(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "tracecomb-notify")
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	return resp, answer, nil
}
