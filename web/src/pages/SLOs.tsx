// SLOs: service level objectives (/1/slos/{dataset}) with their figures
// (?detailed: compliance, budget remaining, status), an SLO's budget
// burn-down over its time period from the history report
// (/1/reporting/slos/historical) and its burn alerts (/1/burn_alerts).
import { useCallback, useEffect, useMemo, useState } from "react";
import { hc, seg, type Dataset, type Recipient } from "../api";
import { TimeChart } from "../Chart";
import { Link, navigate, useLocation } from "../router";
import { DatasetSelect, ErrorBox, FieldRow, fieldError, useDatasets } from "../ui";
import { recipientName } from "./Recipients";

export interface SLO {
  id: string;
  name: string;
  description: string;
  sli: { alias: string };
  time_period_days: number;
  target_per_million: number;
  dataset_slugs: string[];
  created_at: string;
}

export interface SLODetailed extends SLO {
  compliance: number;
  budget_remaining: number;
  burn_rate: number;
  /** no_events, no_alerts, normal, or triggered (a burn alert is) */
  status: string;
}

interface BurnAlert {
  id: string;
  alert_type: "exhaustion_time" | "budget_rate";
  description: string;
  triggered: boolean;
  exhaustion_minutes?: number;
  budget_rate_window_minutes?: number;
  budget_rate_decrease_threshold_per_million?: number;
  slo: { id: string };
  recipients?: { id: string; type?: string; target?: string }[];
}

interface HistoryPoint {
  timestamp: number;
  compliance: number;
  budget_remaining: number;
}

const pct = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(2)) + "%";
/** targetText writes a target per million as a percentage: 995000 → 99.5%. */
export const targetText = (perMillion: number) => String(perMillion / 10000) + "%";

export function SLOStatus({ s }: { s: Pick<SLODetailed, "status" | "budget_remaining"> }) {
  const [cls, text] =
    s.status === "triggered"
      ? ["state-triggered", "Burn alert triggered"]
      : s.status === "no_events"
        ? ["state-disabled", "No events"]
        : s.budget_remaining < 0
          ? ["state-triggered", "Budget exhausted"]
          : s.status === "no_alerts"
            ? ["state-ok", "OK · no burn alerts"]
            : ["state-ok", "OK"];
  return (
    <span className={"state " + cls} data-testid="slo-state" data-status={s.status}>
      {text}
    </span>
  );
}

/** SLOFigures are an SLO's compliance against its target and its budget remaining. */
export function SLOFigures({ s }: { s: SLODetailed }) {
  return (
    <>
      <span data-testid="slo-compliance">{pct(s.compliance)}</span> <span className="muted">of {targetText(s.target_per_million)} over {s.time_period_days} d</span>
      {" · budget "}
      <b data-testid="slo-budget" className={s.budget_remaining < 0 ? "err-text" : ""}>
        {pct(s.budget_remaining)}
      </b>{" "}
      left
    </>
  );
}

export default function SLOsPage() {
  const loc = useLocation();
  const { datasets } = useDatasets();
  const dataset = loc.params.get("dataset") || "__all__";
  const id = loc.params.get("slo");
  const go = (ds: string, slo?: string) => navigate("/slos?" + new URLSearchParams({ dataset: ds, ...(slo ? { slo } : {}) }).toString());
  return (
    <div className="config" data-testid="slos-page">
      {id ? (
        <SLODetail dataset={dataset} id={id} onBack={() => go(dataset)} />
      ) : (
        <SLOList dataset={dataset} datasets={datasets} onDataset={(ds) => go(ds)} />
      )}
    </div>
  );
}

function SLOList({ dataset, datasets, onDataset }: { dataset: string; datasets: Dataset[]; onDataset: (ds: string) => void }) {
  const [list, setList] = useState<SLO[] | null>(null);
  const [details, setDetails] = useState<Record<string, SLODetailed | Error>>({});
  const [err, setErr] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);

  const load = useCallback(() => {
    hc.get<SLO[]>(`/1/slos/${seg(dataset)}`).then((l) => {
      setList(l);
      setErr(null);
      // Each SLO's figures are computed on request, one by one.
      for (const s of l) {
        hc.get<SLODetailed>(`/1/slos/__all__/${seg(s.id)}?detailed=true`).then(
          (d) => setDetails((m) => ({ ...m, [s.id]: d })),
          (e) => setDetails((m) => ({ ...m, [s.id]: e instanceof Error ? e : new Error(String(e)) })),
        );
      }
    }, setErr);
  }, [dataset]);
  useEffect(() => {
    setList(null);
    setCreating(false);
    load();
  }, [load]);

  return (
    <section className="card">
      <div className="inline" style={{ justifyContent: "space-between" }}>
        <h2>SLOs</h2>
        <div className="inline">
          <DatasetSelect value={dataset} datasets={datasets} allLabel="All datasets (__all__)" onChange={onDataset} />
          {!creating && (
            <button type="button" onClick={() => setCreating(true)}>New SLO</button>
          )}
        </div>
      </div>
      <p className="muted">
        An SLO counts the events where its SLI — a derived column that is true for a success and false for a failure — is either, over
        its time period: compliance is the share that succeeded, the error budget the failures the target allows.
      </p>
      {creating && (
        <SLOForm
          dataset={dataset}
          datasets={datasets}
          onDone={() => {
            setCreating(false);
            load();
          }}
          onCancel={() => setCreating(false)}
        />
      )}
      <ErrorBox error={err} />
      {list && list.length === 0 && <p className="muted">No SLOs here.</p>}
      {list && list.length > 0 && (
        <table className="grid" data-testid="slos">
          <thead>
            <tr>
              <th>State</th>
              <th>Name</th>
              <th>SLI</th>
              <th>Datasets</th>
              <th className="num">Target</th>
              <th className="num">Compliance</th>
              <th className="num">Budget remaining</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => {
              const d = details[s.id];
              const ok = d && !(d instanceof Error) ? d : null;
              return (
                <tr key={s.id} data-slo-id={s.id} data-name={s.name}>
                  <td>{ok ? <SLOStatus s={ok} /> : d instanceof Error ? <span className="err-text">{d.message}</span> : <span className="muted">…</span>}</td>
                  <td>
                    <Link href={"/slos?" + new URLSearchParams({ dataset, slo: s.id }).toString()}>
                      <b>{s.name}</b>
                    </Link>
                    {s.description && <div className="muted">{s.description}</div>}
                  </td>
                  <td><code>{s.sli.alias}</code></td>
                  <td>{s.dataset_slugs.join(", ")}</td>
                  <td className="num">{targetText(s.target_per_million)} / {s.time_period_days} d</td>
                  <td className="num" data-testid="slo-compliance">{ok ? pct(ok.compliance) : ""}</td>
                  <td className={"num" + (ok && ok.budget_remaining < 0 ? " err-text" : "")} data-testid="slo-budget">
                    {ok ? pct(ok.budget_remaining) : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface Derived {
  alias: string;
  expression: string;
}

function SLOForm({ dataset, datasets, onDone, onCancel }: { dataset: string; datasets: Dataset[]; onDone: () => void; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [alias, setAlias] = useState("");
  const [target, setTarget] = useState("99.9");
  const [days, setDays] = useState("30");
  const [slugs, setSlugs] = useState<string[]>([]);
  const [aliases, setAliases] = useState<Derived[]>([]);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const all = dataset === "__all__";
  // The SLI is a derived column of the dataset or of the environment; an
  // SLO of several datasets takes an environment-wide one.
  useEffect(() => {
    const sets = all ? ["__all__"] : [dataset, "__all__"];
    Promise.all(sets.map((s) => hc.get<Derived[]>(`/1/derived_columns/${seg(s)}`).catch(() => [] as Derived[]))).then((ls) => setAliases(ls.flat()));
  }, [dataset, all]);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    const t = Number(target);
    const body = {
      name,
      description,
      sli: { alias },
      time_period_days: days.trim() === "" ? undefined : Number(days),
      target_per_million: target.trim() === "" || !isFinite(t) ? undefined : Math.round(t * 10000),
      ...(all ? { dataset_slugs: slugs } : {}),
    };
    try {
      await hc.post(`/1/slos/${seg(dataset)}`, body);
      onDone();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const p = (f: string) => fieldError(err, f);
  return (
    <form className="card" onSubmit={save} data-testid="slo-form" noValidate>
      <h3>New SLO {all ? "of several datasets" : `of ${dataset}`}</h3>
      <div className="form-grid">
        <FieldRow label="Name" problem={p("name")}>
          <input className="wide" name="name" aria-label="Name" value={name} onChange={(e) => setName(e.target.value)} />
        </FieldRow>
        <FieldRow label="Description" problem={p("description")}>
          <input className="wide" name="description" aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </FieldRow>
        <FieldRow label="SLI" problem={p("sli")}>
          <select name="sli" aria-label="SLI" value={alias} onChange={(e) => setAlias(e.target.value)}>
            <option value="">choose a derived column</option>
            {aliases.map((d) => (
              <option key={d.alias} value={d.alias}>
                {d.alias}: {d.expression}
              </option>
            ))}
          </select>
          <Link href={"/derived-columns?dataset=" + seg(dataset)}>derived columns</Link>
        </FieldRow>
        <FieldRow label="Target" problem={p("target_per_million")}>
          <input name="target" aria-label="Target" inputMode="decimal" style={{ width: 90 }} value={target} onChange={(e) => setTarget(e.target.value)} /> % of events succeed
        </FieldRow>
        <FieldRow label="Time period" problem={p("time_period_days")}>
          <input name="time_period_days" aria-label="Time period" inputMode="numeric" style={{ width: 70 }} value={days} onChange={(e) => setDays(e.target.value)} /> days
        </FieldRow>
        {all && (
          <FieldRow label="Datasets" problem={p("dataset_slugs")}>
            <div className="pick">
              {datasets.map((d) => (
                <label key={d.slug}>
                  <input type="checkbox" checked={slugs.includes(d.slug)} onChange={(e) => setSlugs(e.target.checked ? [...slugs, d.slug] : slugs.filter((s) => s !== d.slug))} />
                  {d.name}
                </label>
              ))}
            </div>
          </FieldRow>
        )}
      </div>
      <ErrorBox error={err} />
      <div className="inline">
        <button type="submit" disabled={busy}>Create SLO</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function SLODetail({ dataset, id, onBack }: { dataset: string; id: string; onBack: () => void }) {
  const [slo, setSLO] = useState<SLODetailed | null>(null);
  const [history, setHistory] = useState<HistoryPoint[] | null>(null);
  const [alerts, setAlerts] = useState<BurnAlert[] | null>(null);
  const [recipients, setRecipients] = useState<Recipient[]>([]);
  const [err, setErr] = useState<unknown>(null);
  const [histErr, setHistErr] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);

  const loadAlerts = useCallback(() => {
    // The list leaves out each alert's recipients; each one's own answer has them.
    hc.get<BurnAlert[]>(`/1/burn_alerts/__all__?slo_id=${seg(id)}`)
      .then((list) => Promise.all(list.map((a) => hc.get<BurnAlert>(`/1/burn_alerts/__all__/${seg(a.id)}`).catch(() => a))))
      .then(setAlerts, setErr);
  }, [id]);
  // The figures and the burn alerts' state change as events come and the
  // evaluator runs: read again every 10 s.
  const refresh = useCallback(() => {
    hc.get<SLODetailed>(`/1/slos/__all__/${seg(id)}?detailed=true`).then(setSLO, setErr);
    loadAlerts();
  }, [id, loadAlerts]);
  useEffect(() => {
    refresh();
    const t = setInterval(refresh, 10_000);
    return () => clearInterval(t);
  }, [refresh]);
  const sloPeriod = slo?.time_period_days;
  useEffect(() => {
    if (!sloPeriod) return;
    // The history report takes a range at most a year back that does not
    // end in the future.
    const end = Math.floor(Date.now() / 1000) - 1;
    const start = end - Math.min(sloPeriod, 365) * 86400;
    hc.post<Record<string, HistoryPoint[]>>("/1/reporting/slos/historical", { ids: [id], start_time: start, end_time: end }).then(
      (h) => setHistory(h[id] ?? []),
      setHistErr,
    );
  }, [id, sloPeriod]);
  useEffect(() => {
    hc.get<Recipient[]>("/1/recipients").then(setRecipients, () => setRecipients([]));
  }, []);

  const removeSLO = async () => {
    if (!slo || !confirm(`Delete the SLO ${slo.name} and its burn alerts?`)) return;
    try {
      await hc.del(`/1/slos/__all__/${seg(slo.id)}`);
      onBack();
    } catch (e) {
      setErr(e);
    }
  };
  const removeAlert = async (a: BurnAlert) => {
    if (!confirm("Delete this burn alert?")) return;
    try {
      await hc.del(`/1/burn_alerts/__all__/${seg(a.id)}`);
      loadAlerts();
    } catch (e) {
      setErr(e);
    }
  };

  const range = useMemo<[number, number] | undefined>(() => {
    if (!sloPeriod) return undefined;
    const end = Date.now();
    return [end - sloPeriod * 86_400_000, end];
  }, [sloPeriod]);
  const byId = new Map(recipients.map((r) => [r.id, r]));

  return (
    <>
      <section className="card" data-testid="slo-detail">
        <div className="inline" style={{ justifyContent: "space-between" }}>
          <h2>
            <button type="button" className="link" onClick={onBack}>SLOs</button> / {slo?.name ?? id}
          </h2>
          {slo && (
            <button type="button" className="small danger" onClick={removeSLO}>Delete SLO</button>
          )}
        </div>
        <ErrorBox error={err} />
        {slo && (
          <>
            <p>
              <SLOStatus s={slo} /> <SLOFigures s={slo} />
            </p>
            <p className="muted">
              SLI <code>{slo.sli.alias}</code> on {slo.dataset_slugs.join(", ")}; burn rate over the last 4 hours {slo.burn_rate.toFixed(2)} (1 spends
              the budget exactly over the period).{slo.description && <> {slo.description}</>}
            </p>
          </>
        )}
        <ErrorBox error={histErr} />
        {history && history.length === 0 && <p className="muted">No events of this SLO in its time period yet.</p>}
        {history && history.length > 0 && range && (
          <div data-testid="slo-history">
            <TimeChart
              title="Budget remaining (%)"
              series={[{ name: "budget remaining", points: history.map((h) => [h.timestamp * 1000, h.budget_remaining]) }]}
              range={range}
              dataset={slo && slo.dataset_slugs.length === 1 ? slo.dataset_slugs[0] : "__all__"}
              connectNulls
              onPoint={() => {}}
            />
            <TimeChart
              title="Compliance (%)"
              series={[{ name: "compliance", points: history.map((h) => [h.timestamp * 1000, h.compliance]) }]}
              range={range}
              connectNulls
              onPoint={() => {}}
            />
          </div>
        )}
      </section>
      <section className="card">
        <div className="inline" style={{ justifyContent: "space-between" }}>
          <h2>Burn alerts</h2>
          {!creating && slo && (
            <button type="button" onClick={() => setCreating(true)}>New burn alert</button>
          )}
        </div>
        {creating && slo && (
          <BurnAlertForm
            slo={slo}
            recipients={recipients}
            onDone={() => {
              setCreating(false);
              refresh();
            }}
            onCancel={() => setCreating(false)}
          />
        )}
        {alerts && alerts.length === 0 && <p className="muted">No burn alerts on this SLO.</p>}
        {alerts && alerts.length > 0 && (
          <table className="grid" data-testid="burn-alerts">
            <thead>
              <tr>
                <th>State</th>
                <th>Alert</th>
                <th>Recipients</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.id} data-burn-alert-id={a.id}>
                  <td>
                    <span className={"state " + (a.triggered ? "state-triggered" : "state-ok")} data-testid="burn-alert-state">
                      {a.triggered ? "Triggered" : "OK"}
                    </span>
                  </td>
                  <td data-testid="burn-alert-rule">
                    {a.alert_type === "exhaustion_time"
                      ? `budget runs out within ${a.exhaustion_minutes} min at the recent rate`
                      : `${(a.budget_rate_decrease_threshold_per_million ?? 0) / 10000}% of the budget spent within ${a.budget_rate_window_minutes} min`}
                    {a.description && <div className="muted">{a.description}</div>}
                  </td>
                  <td>
                    {(a.recipients ?? []).map((r) => (
                      <div key={r.id}>
                        {byId.get(r.id) ? recipientName(byId.get(r.id)!) : r.target || r.id} <span className="muted">({r.type})</span>
                      </div>
                    ))}
                  </td>
                  <td>
                    <button type="button" className="small danger" onClick={() => removeAlert(a)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {dataset !== "__all__" && <p className="muted">Burn alerts of an SLO are the same seen from any of its datasets.</p>}
      </section>
    </>
  );
}

function BurnAlertForm({ slo, recipients, onDone, onCancel }: { slo: SLO; recipients: Recipient[]; onDone: () => void; onCancel: () => void }) {
  const [type, setType] = useState<BurnAlert["alert_type"]>("exhaustion_time");
  const [minutes, setMinutes] = useState("240");
  const [windowMin, setWindowMin] = useState("60");
  const [threshold, setThreshold] = useState("1");
  const [description, setDescription] = useState("");
  const [picked, setPicked] = useState<string[]>([]);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const num = (s: string) => (s.trim() === "" || !isFinite(Number(s)) ? undefined : Number(s));

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    const pctThreshold = num(threshold);
    const body =
      type === "exhaustion_time"
        ? { alert_type: type, exhaustion_minutes: num(minutes) }
        : {
            alert_type: type,
            budget_rate_window_minutes: num(windowMin),
            budget_rate_decrease_threshold_per_million: pctThreshold === undefined ? undefined : Math.round(pctThreshold * 10000),
          };
    try {
      await hc.post("/1/burn_alerts/__all__", { ...body, description, slo: { id: slo.id }, recipients: picked.map((id) => ({ id })) });
      onDone();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const p = (f: string) => fieldError(err, f);
  return (
    <form className="card" onSubmit={save} data-testid="burn-alert-form" noValidate>
      <div className="form-grid">
        <FieldRow label="Alert when" problem={p("alert_type")}>
          <select name="alert_type" aria-label="Alert type" value={type} onChange={(e) => setType(e.target.value as BurnAlert["alert_type"])}>
            <option value="exhaustion_time">the budget will run out soon</option>
            <option value="budget_rate">the budget drops fast</option>
          </select>
        </FieldRow>
        {type === "exhaustion_time" ? (
          <FieldRow label="Runs out within" problem={p("exhaustion_minutes")}>
            <input name="exhaustion_minutes" aria-label="Exhaustion minutes" style={{ width: 90 }} value={minutes} onChange={(e) => setMinutes(e.target.value)} /> minutes at the recent rate
          </FieldRow>
        ) : (
          <>
            <FieldRow label="Budget spent" problem={p("budget_rate_decrease_threshold_per_million")}>
              <input name="budget_rate_threshold" aria-label="Budget decrease" style={{ width: 90 }} value={threshold} onChange={(e) => setThreshold(e.target.value)} /> % of the budget
            </FieldRow>
            <FieldRow label="Within" problem={p("budget_rate_window_minutes")}>
              <input name="budget_rate_window_minutes" aria-label="Window minutes" style={{ width: 90 }} value={windowMin} onChange={(e) => setWindowMin(e.target.value)} /> minutes (60 to{" "}
              {slo.time_period_days * 1440})
            </FieldRow>
          </>
        )}
        <FieldRow label="Description" problem={p("description")}>
          <input className="wide" name="description" aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </FieldRow>
        <FieldRow label="Recipients" problem={p("recipients")}>
          <div className="pick" data-testid="burn-alert-recipient-pick">
            {recipients.length === 0 && (
              <span className="muted">
                No recipients yet: <Link href="/recipients">create one</Link>.
              </span>
            )}
            {recipients.map((r) => (
              <label key={r.id}>
                <input type="checkbox" checked={picked.includes(r.id)} onChange={(e) => setPicked(e.target.checked ? [...picked, r.id] : picked.filter((x) => x !== r.id))} />
                {recipientName(r)} <span className="muted">({r.type})</span>
              </label>
            ))}
          </div>
        </FieldRow>
      </div>
      <ErrorBox error={err} />
      <div className="inline">
        <button type="submit" disabled={busy}>Create burn alert</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
