// Settings → Retention: per environment, the retention in force (age and
// size, its own setting or the --retention-* flags), the data it keeps, its
// oldest event and when retention last ran; a session with key-management
// rights changes it (PUT/DELETE /ui-api/settings/environments/{env}/retention).
import { useCallback, useEffect, useState } from "react";
import { del, get, put, type RetentionInfo } from "../api";
import { ErrorBox, fmtAgo } from "../ui";

interface RetentionList {
  environments: RetentionInfo[];
  can_edit: boolean;
}

/** fmtBytes writes a size for reading: 1.5 MiB, 256 MiB, 10 GiB. */
export function fmtBytes(n: number): string {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 || v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
}

/** sizeInput writes a size for the form, exactly: 256MiB, 10GiB, 1500000. */
function sizeInput(n: number): string {
  if (!n) return "0";
  for (const [u, m] of [["TiB", 2 ** 40], ["GiB", 2 ** 30], ["MiB", 2 ** 20]] as const) {
    if (n % m === 0) return n / m + u;
  }
  return String(n);
}

const ageText = (a: string) => (a === "0" ? "none" : a);
const sizeText = (n: number) => (n ? fmtBytes(n) : "none");

export function Retention({ keyLogin }: { keyLogin: boolean }) {
  const [data, setData] = useState<RetentionList | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [age, setAge] = useState("");
  const [size, setSize] = useState("");
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    get<RetentionList>("/settings/retention").then(setData, setErr);
  }, []);
  // Reload on a login (the rights change) and every 10 s: retention runs
  // at least every minute, and at once after a change.
  useEffect(() => {
    load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, [load, keyLogin]);

  const edit = (r: RetentionInfo) => {
    setErr(null);
    setEditing(r.env);
    setAge(r.max_age);
    setSize(sizeInput(r.max_bytes));
  };
  const path = (env: string) => `/settings/environments/${encodeURIComponent(env)}/retention`;
  const done = () => {
    setEditing(null);
    load();
    // The store enforces a change at once; show that pass.
    setTimeout(load, 1500);
  };
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!editing) return;
    setErr(null);
    setBusy(true);
    try {
      await put(path(editing), { max_age: age.trim() || "0", max_bytes: size.trim() || "0" });
      done();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const reset = async () => {
    if (!editing) return;
    setErr(null);
    setBusy(true);
    try {
      await del(path(editing));
      done();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };

  const rows = data?.environments ?? [];
  const interval = rows[0]?.interval_seconds ?? 60;
  const editRow = rows.find((r) => r.env === editing);
  return (
    <section className="card" data-testid="retention">
      <h2>Retention</h2>
      <p className="muted">
        Each environment keeps events up to an age and a size: retention deletes older events and, past the size, the oldest ones,
        every {interval >= 60 ? `${Math.round(interval / 60)} min` : `${interval} s`} and at once after a change. An environment's own
        setting replaces both server defaults (<code>--retention-age</code>, <code>--retention-size</code>) for it.
      </p>
      <table className="grid" data-testid="retention-table">
        <thead>
          <tr>
            <th>Environment</th>
            <th>Max age</th>
            <th>Max size</th>
            <th>Setting</th>
            <th className="num">Data</th>
            <th>Oldest kept</th>
            <th>Last enforced</th>
            <th className="num">Deleted</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.env} data-env={r.env}>
              <td>
                <b>{r.name}</b> <code>{r.env}</code>
              </td>
              <td data-testid="ret-age">{ageText(r.max_age)}</td>
              <td data-testid="ret-size">{sizeText(r.max_bytes)}</td>
              <td data-testid="ret-source" title={`server default: age ${ageText(r.default.max_age)}, size ${sizeText(r.default.max_bytes)}`}>
                {r.source === "environment" ? "own setting" : "server default"}
              </td>
              <td
                className="num"
                data-testid="ret-data"
                title={
                  (r.measured_at ? `measured ${fmtAgo(r.measured_at)}` : "not measured yet") +
                  (r.wal_bytes ? `; ${fmtBytes(r.wal_bytes)} of recent writes (all environments) are in the WAL, not counted yet` : "")
                }
              >
                {fmtBytes(r.data_bytes)}
                {r.wal_bytes > 0 && <span className="muted"> + recent</span>}
              </td>
              <td data-testid="ret-oldest" title={r.oldest}>
                {r.oldest ? `${new Date(r.oldest).toLocaleString()} (${fmtAgo(r.oldest)})` : "no data"}
              </td>
              <td data-testid="ret-enforced" title={r.last_enforced_at}>
                {r.last_enforced_at ? fmtAgo(r.last_enforced_at) : "not yet"}
              </td>
              <td className="num" data-testid="ret-deleted" title="events retention deleted since the server started">
                {r.deleted_events.toLocaleString()}
              </td>
              <td>
                {data?.can_edit && (
                  <button className="small" onClick={() => edit(r)} aria-label={`Edit retention of ${r.env}`}>
                    Edit
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && !data.can_edit && (
        <p className="muted" data-testid="retention-login-hint">
          Changing retention takes a login with a configuration key that has every permission, as managing keys does.
        </p>
      )}
      {editRow && (
        <form className="inline" onSubmit={save} data-testid="retention-form">
          <b>{editRow.env}</b>
          <label>
            Max age <input name="max_age" value={age} onChange={(e) => setAge(e.target.value)} placeholder="168h, 7d; 0: none" />
          </label>
          <label>
            Max size <input name="max_bytes" value={size} onChange={(e) => setSize(e.target.value)} placeholder="10GiB, 256MiB; 0: none" />
          </label>
          <button type="submit" disabled={busy}>Save retention</button>
          {editRow.source === "environment" && (
            <button type="button" disabled={busy} onClick={reset} title={`age ${ageText(editRow.default.max_age)}, size ${sizeText(editRow.default.max_bytes)}`}>
              Use the server default
            </button>
          )}
          <button type="button" className="link" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </form>
      )}
      <ErrorBox error={err} />
    </section>
  );
}
