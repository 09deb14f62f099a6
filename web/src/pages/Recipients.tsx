// Recipients: where triggers and burn alerts send their notifications
// (/1/recipients).
// Each type has its own details; an edit replaces the fields the form
// shows and keeps the others (a webhook's payload templates, say), and a
// recipient a trigger uses cannot be deleted (the API answers 409 naming
// the trigger).
import { useCallback, useEffect, useState } from "react";
import { hc, seg, type Recipient } from "../api";
import { ErrorBox, FieldRow, fieldError } from "../ui";

type RType = Recipient["type"];

interface FieldSpec {
  key: string;
  label: string;
  placeholder?: string;
  optional?: boolean;
  secret?: boolean;
}

// The details each type takes, as the Recipients API checks them.
export const RECIPIENT_TYPES: { type: RType; label: string; fields: FieldSpec[] }[] = [
  {
    type: "webhook",
    label: "Webhook",
    fields: [
      { key: "webhook_name", label: "Name" },
      { key: "webhook_url", label: "URL", placeholder: "https://…" },
      { key: "webhook_secret", label: "Secret", optional: true, secret: true, placeholder: "sent as X-Honeycomb-Webhook-Token" },
    ],
  },
  { type: "email", label: "Email", fields: [{ key: "email_address", label: "Email address", placeholder: "oncall@example.com" }] },
  { type: "slack", label: "Slack", fields: [{ key: "slack_channel", label: "Channel", placeholder: "#alerts" }] },
  {
    type: "pagerduty",
    label: "PagerDuty",
    fields: [
      { key: "pagerduty_integration_name", label: "Integration name" },
      { key: "pagerduty_integration_key", label: "Integration key", secret: true, placeholder: "32 characters" },
    ],
  },
  {
    type: "msteams",
    label: "Microsoft Teams (connector)",
    fields: [
      { key: "webhook_name", label: "Name" },
      { key: "webhook_url", label: "URL", placeholder: "https://…" },
    ],
  },
  {
    type: "msteams_workflow",
    label: "Microsoft Teams (workflow)",
    fields: [
      { key: "webhook_name", label: "Name" },
      { key: "webhook_url", label: "URL", placeholder: "https://…" },
    ],
  },
];

const typeInfo = (t: string) => RECIPIENT_TYPES.find((x) => x.type === t);

/** recipientName is how a recipient is named in lists: its name, address or channel. */
export function recipientName(r: Recipient): string {
  const d = r.details ?? {};
  for (const k of ["webhook_name", "email_address", "slack_channel", "pagerduty_integration_name"]) {
    if (typeof d[k] === "string" && d[k]) return d[k] as string;
  }
  return r.id;
}

/** recipientTarget is where a recipient sends to, without its secrets. */
function recipientTarget(r: Recipient): string {
  const d = r.details ?? {};
  switch (r.type) {
    case "webhook":
    case "msteams":
    case "msteams_workflow":
      return String(d.webhook_url ?? "");
    case "email":
      return String(d.email_address ?? "");
    case "slack":
      return String(d.slack_channel ?? "");
    case "pagerduty":
      return "integration key …" + String(d.pagerduty_integration_key ?? "").slice(-4);
  }
  return "";
}

export default function RecipientsPage() {
  const [list, setList] = useState<Recipient[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  // null: no form; "new": creating; otherwise the recipient edited.
  const [editing, setEditing] = useState<Recipient | "new" | null>(null);

  const load = useCallback(() => {
    hc.get<Recipient[]>("/1/recipients").then(setList, setErr);
  }, []);
  useEffect(load, [load]);

  const remove = async (r: Recipient) => {
    if (!confirm(`Delete the recipient ${recipientName(r)}?`)) return;
    setErr(null);
    try {
      await hc.del(`/1/recipients/${seg(r.id)}`);
      load();
    } catch (e) {
      setErr(e);
    }
  };

  return (
    <div className="config" data-testid="recipients-page">
      <section className="card">
        <div className="inline" style={{ justifyContent: "space-between" }}>
          <h2>Recipients</h2>
          {editing === null && (
            <button type="button" onClick={() => setEditing("new")}>New recipient</button>
          )}
        </div>
        <p className="muted">
          Where triggers and burn alerts send their notifications. A webhook gets Honeycomb's payload (a POST, the secret in the
          X-Honeycomb-Webhook-Token header); email goes through the server's SMTP server (<code>--smtp-addr</code>) and Slack through
          its bot token (<code>--slack-token</code>), and neither is sent without them; PagerDuty and Microsoft Teams get their
          services' own messages.
        </p>
        {editing !== null && (
          <RecipientForm
            key={editing === "new" ? "new" : editing.id}
            recipient={editing === "new" ? null : editing}
            onDone={() => {
              setEditing(null);
              load();
            }}
            onCancel={() => setEditing(null)}
          />
        )}
        <ErrorBox error={err} />
        {list && list.length === 0 && <p className="muted">No recipients yet.</p>}
        {list && list.length > 0 && (
          <table className="grid" data-testid="recipients">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th>Target</th>
                <th>Id</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} data-recipient-id={r.id}>
                  <td><b>{recipientName(r)}</b></td>
                  <td>{typeInfo(r.type)?.label ?? r.type}</td>
                  <td className="summary">{recipientTarget(r)}</td>
                  <td><code>{r.id}</code></td>
                  <td style={{ whiteSpace: "nowrap" }}>
                    <button type="button" className="small" onClick={() => setEditing(r)}>Edit</button>{" "}
                    <button type="button" className="small danger" onClick={() => remove(r)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function RecipientForm({ recipient, onDone, onCancel }: { recipient: Recipient | null; onDone: () => void; onCancel: () => void }) {
  const [type, setType] = useState<RType>(recipient?.type ?? "webhook");
  const [values, setValues] = useState<Record<string, string>>(() => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(recipient?.details ?? {})) if (typeof v === "string") out[k] = v;
    return out;
  });
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const info = typeInfo(type)!;

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    // The API replaces the details: keep those the form does not show.
    const details: Record<string, unknown> = { ...(recipient?.details ?? {}) };
    for (const f of info.fields) {
      const v = (values[f.key] ?? "").trim();
      if (v || !f.optional) details[f.key] = v;
      else delete details[f.key];
    }
    try {
      if (recipient) await hc.put(`/1/recipients/${seg(recipient.id)}`, { type, details });
      else await hc.post("/1/recipients", { type, details });
      onDone();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={save} data-testid="recipient-form" noValidate>
      <h3>{recipient ? `Edit ${recipientName(recipient)}` : "New recipient"}</h3>
      <div className="form-grid">
        <span className="lbl">Type</span>
        <div className="row">
          <select name="type" value={type} disabled={!!recipient} onChange={(e) => setType(e.target.value as RType)} aria-label="Type">
            {RECIPIENT_TYPES.map((t) => (
              <option key={t.type} value={t.type}>{t.label}</option>
            ))}
          </select>
          {recipient && <span className="muted">a recipient's type cannot change</span>}
        </div>
        {info.fields.map((f) => {
          const problem = fieldError(err, "details." + f.key);
          return (
            <FieldRow key={f.key} label={f.label + (f.optional ? " (optional)" : "")} problem={problem}>
              <input
                className="wide"
                name={f.key}
                aria-label={f.label}
                type={f.secret ? "password" : "text"}
                autoComplete="off"
                placeholder={f.placeholder}
                value={values[f.key] ?? ""}
                onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
              />
            </FieldRow>
          );
        })}
      </div>
      <div className="inline">
        <button type="submit" disabled={busy}>{recipient ? "Save recipient" : "Create recipient"}</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
      <ErrorBox error={err} />
    </form>
  );
}
