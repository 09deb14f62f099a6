import { useCallback, useEffect, useState } from "react";
import { get, post, type Env, type KeyInfo, type Session } from "../api";
import { CopyButton, ErrorBox, fmtAgo } from "../ui";
import { Retention } from "./Retention";

interface SettingsData {
  environments: Env[];
  /** null until the browser logs in with a key */
  keys: KeyInfo[] | null;
  login_required: boolean;
}

/** KeyLogin asks for a configuration key to manage keys with. */
function KeyLogin({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState("");
  const [err, setErr] = useState<unknown>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    try {
      await post("/login", { key });
      setKey("");
      onDone();
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <section className="card" data-testid="key-login">
      <h2>Log in to manage keys</h2>
      <p className="muted">
        Listing, creating and revoking keys takes a configuration key with every permission (the one the first start printed),
        even on this machine: any local program can reach this page.
      </p>
      <form className="inline" onSubmit={submit}>
        <label>
          Configuration key
          <input type="password" name="login-key" autoComplete="current-password" value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        <button type="submit" disabled={!key}>Log in</button>
      </form>
      <ErrorBox error={err} />
    </section>
  );
}

export function Settings({ session, onChange }: { session: Session; onChange: () => void }) {
  const [data, setData] = useState<SettingsData | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [env, setEnv] = useState(session.env?.slug ?? "");
  const [name, setName] = useState("");
  const [kind, setKind] = useState("ingest");
  const [created, setCreated] = useState<{ key: KeyInfo; secret: string } | null>(null);

  const load = useCallback(() => {
    get<SettingsData>("/settings").then(setData, setErr);
  }, []);
  useEffect(load, [load]);

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    try {
      const r = await post<{ key: KeyInfo; secret: string }>("/settings/keys", { env, name, kind });
      setCreated(r);
      setName("");
      load();
      if (!session.environments.some((x) => x.slug === r.key.env)) onChange();
    } catch (e) {
      setErr(e);
    }
  };
  const revoke = async (k: KeyInfo) => {
    if (!confirm(`Revoke key ${k.id}${k.name ? ` (${k.name})` : ""}? Senders using it will be refused at once.`)) return;
    setErr(null);
    try {
      await post(`/settings/keys/${encodeURIComponent(k.id)}/revoke`);
      if (k.current) {
        onChange();
        return;
      }
      load();
    } catch (e) {
      setErr(e);
    }
  };

  const loginRequired = data?.login_required ?? false;
  return (
    <div className="settings">
      <section className="card">
        <h2>Environments</h2>
        <p className="muted">
          Team <b>{session.team}</b>. Every key belongs to one environment and sees only its data.
        </p>
        <ul className="envs" data-testid="environments">
          {(data?.environments ?? []).map((e) => (
            <li key={e.slug}>
              <b>{e.name}</b> <code>{e.slug}</code>
              {data?.keys && <> · {data.keys.filter((k) => k.env === e.slug && !k.revoked_at).length} active keys</>}
            </li>
          ))}
        </ul>
      </section>
      {loginRequired && (
        <KeyLogin
          onDone={() => {
            load();
            onChange();
          }}
        />
      )}
      {!loginRequired && (
      <section className="card">
        <h2>Create an API key</h2>
        <form className="inline" onSubmit={create}>
          <label>
            Environment
            {session.mode === "open" ? (
              <input list="env-list" value={env} onChange={(e) => setEnv(e.target.value)} name="env" placeholder="test" />
            ) : (
              <input value={env} disabled name="env" />
            )}
            <datalist id="env-list">
              {session.environments.map((e) => (
                <option key={e.slug} value={e.slug} />
              ))}
            </datalist>
          </label>
          <label>
            Name <input value={name} onChange={(e) => setName(e.target.value)} name="name" placeholder="e.g. cruddur backend" maxLength={100} />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.target.value)} name="kind">
              <option value="ingest">ingest: sends data</option>
              <option value="configuration">configuration: the API and the UI</option>
            </select>
          </label>
          <button type="submit" disabled={!env}>Create key</button>
        </form>
        <p className="muted">
          As on Honeycomb, an ingest key only sends data (OTLP, the Events API); a configuration key reads and configures
          (queries, columns, markers) with every permission when made here (<code>tracecomb keys create --kind configuration
          --permissions …</code> chooses them).
          {session.mode === "open" && " A new environment name creates the environment."}
        </p>
        {created && (
          <div className="notice" data-testid="created-key">
            <p>
              New key <code>{created.key.id}</code> for <b>{created.key.env}</b>. Copy it now: it is shown only once.
            </p>
            <div className="snippet">
              <pre data-testid="secret">{created.secret}</pre>
              <CopyButton text={created.secret} />
            </div>
            <button className="small" onClick={() => setCreated(null)}>I have saved it</button>
          </div>
        )}
        <ErrorBox error={err} />
      </section>
      )}
      {!loginRequired && (
      <section className="card">
        <h2>API keys</h2>
        <table className="grid" data-testid="keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th>Kind</th>
              <th>Environment</th>
              <th>Created</th>
              <th>Status</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {(data?.keys ?? []).map((k) => (
              <tr key={k.id} className={k.revoked_at ? "revoked" : ""} data-key-id={k.id}>
                <td data-testid="key-name">
                  {k.name ? <b>{k.name}</b> : <code>{k.id}</code>}
                  {k.current && <span className="muted"> (this session)</span>}
                </td>
                <td>
                  <code>{k.id}</code>
                </td>
                <td data-testid="key-kind" title={k.permissions?.join(", ")}>
                  {k.kind || "any (may do everything)"}
                </td>
                <td>{k.env}</td>
                <td title={k.created_at}>{fmtAgo(k.created_at)}</td>
                <td>{k.revoked_at ? <span title={k.revoked_at}>revoked {fmtAgo(k.revoked_at)}</span> : "active"}</td>
                <td>{!k.revoked_at && <button className="small danger" onClick={() => revoke(k)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      )}
      <Retention keyLogin={session.key_login} />
    </div>
  );
}
