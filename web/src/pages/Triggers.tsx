// Triggers: per dataset, a query with one calculation checked against a
// threshold every frequency seconds (/1/triggers/{dataset}). The list shows
// each trigger's current state as the evaluator keeps it (the API's
// triggered) and refreshes every 5 s; the form creates and edits them, and
// the API's 422 answers are shown next to it, the named field marked.
import { useCallback, useEffect, useState } from "react";
import { APIError, hc, seg, type Column, type Recipient } from "../api";
import { Link, navigate, useLocation } from "../router";
import { CALC_OPS, FILTER_OPS, NO_VALUE_OPS, UNARY_OPS, filterValueText, label, parseFilterValue, type Filter, type Spec } from "../querySpec";
import { DatasetSelect, ErrorBox, FieldRow, fieldError, useDatasets } from "../ui";
import { recipientName } from "./Recipients";

export interface Trigger {
  id: string;
  dataset_slug: string;
  name: string;
  description: string;
  threshold: { op: string; value: number; exceeded_limit: number };
  frequency: number;
  alert_type: "on_change" | "on_true";
  disabled: boolean;
  triggered: boolean;
  recipients: { id: string; type?: string; target?: string; details?: unknown }[];
  evaluation_schedule_type: "frequency" | "window";
  evaluation_schedule?: { window: { days_of_week: string[]; start_time: string; end_time: string } };
  baseline_details?: unknown;
  tags?: unknown;
  query_id: string;
  query: Spec;
  created_at: string;
  updated_at: string;
}

// A trigger's calculation cannot be HEATMAP or CONCURRENCY.
const TRIGGER_OPS = CALC_OPS.filter((o) => o !== "HEATMAP" && o !== "CONCURRENCY");
const THRESHOLD_OPS = [">", ">=", "<", "<="];
// The frequencies offered: the API takes whole minutes from 1 minute to 1 day.
const FREQUENCIES = [60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
// The time ranges offered; the API takes from the frequency to the lesser
// of four times it and a day.
const RANGES = [60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
// A baseline compares the calculation with its value this long before.
const BASELINE_OFFSETS: [number, string][] = [
  [60, "an hour"],
  [1440, "a day"],
  [10080, "a week"],
  [40320, "28 days"],
];

interface Baseline {
  offset_minutes: number;
  type: "value" | "percentage";
}

function baselineOf(t: Trigger | null): Baseline | null {
  const b = t?.baseline_details as Partial<Baseline> | undefined;
  return b && typeof b.offset_minutes === "number" && (b.type === "value" || b.type === "percentage") ? (b as Baseline) : null;
}

/** fmtSeconds writes a whole number of seconds for reading: 90 s, 15 min, 2 h, 1 d. */
export function fmtSeconds(s: number): string {
  if (s % 86400 === 0) return `${s / 86400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

function filterText(f: Filter): string {
  if (NO_VALUE_OPS.has(f.op)) return `${f.column} ${f.op}`;
  const v = Array.isArray(f.value) ? `(${f.value.map((x) => JSON.stringify(x)).join(", ")})` : JSON.stringify(f.value);
  return `${f.column} ${f.op} ${v}`;
}

/** querySummary writes a trigger's query on one line: the calculation, its filters and groups, its time range. */
export function querySummary(q: Spec | undefined): string {
  if (!q) return "";
  const calc = q.calculations?.[0] ?? { op: "COUNT" };
  let out = label(calc);
  if (q.filters?.length) out += " WHERE " + q.filters.map(filterText).join(` ${q.filter_combination ?? "AND"} `);
  if (q.breakdowns?.length) out += " GROUP BY " + q.breakdowns.join(", ");
  out += ` · last ${fmtSeconds(q.time_range ?? 7200)}`;
  return out;
}

export function thresholdText(t: Trigger["threshold"], baseline?: Baseline | null): string {
  let out = `${t.op} ${t.value}`;
  if (baseline) {
    const ago = BASELINE_OFFSETS.find(([m]) => m === baseline.offset_minutes)?.[1] ?? `${baseline.offset_minutes} min`;
    out = `change ${out}${baseline.type === "percentage" ? "%" : ""} vs. ${ago} before`;
  }
  return out + (t.exceeded_limit > 1 ? `, ${t.exceeded_limit} times in a row` : "");
}

export function TriggerState({ t }: { t: Pick<Trigger, "disabled" | "triggered"> }) {
  if (t.disabled) return <span className="state state-disabled" data-testid="trigger-state">Disabled</span>;
  if (t.triggered) return <span className="state state-triggered" data-testid="trigger-state">Triggered</span>;
  return <span className="state state-ok" data-testid="trigger-state">OK</span>;
}

const queryLink = (dataset: string, spec: Spec) => "/query?" + new URLSearchParams({ dataset, q: JSON.stringify(spec) }).toString();

export default function TriggersPage() {
  const loc = useLocation();
  const { datasets, loaded } = useDatasets();
  const dataset = loc.params.get("dataset") ?? "";
  const [list, setList] = useState<Trigger[] | null>(null);
  const [recipients, setRecipients] = useState<Recipient[]>([]);
  const [err, setErr] = useState<unknown>(null);
  const [editing, setEditing] = useState<Trigger | "new" | null>(null);

  // Without a dataset in the URL, the first one.
  useEffect(() => {
    if (!dataset && datasets.length) navigate("/triggers?dataset=" + seg(datasets[0].slug), true);
  }, [dataset, datasets]);

  const load = useCallback(() => {
    if (!dataset) return;
    hc.get<Trigger[]>(`/1/triggers/${seg(dataset)}`).then(
      (l) => {
        setList(l);
        setErr(null);
      },
      (e) => setErr(e),
    );
  }, [dataset]);
  useEffect(() => {
    setList(null);
    setEditing(null);
    load();
    // The evaluator changes the state; show it as it does.
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [load]);
  useEffect(() => {
    hc.get<Recipient[]>("/1/recipients").then(setRecipients, () => setRecipients([]));
  }, [editing]);

  const remove = async (t: Trigger) => {
    if (!confirm(`Delete the trigger ${t.name}?`)) return;
    try {
      await hc.del(`/1/triggers/${seg(dataset)}/${seg(t.id)}`);
      load();
    } catch (e) {
      setErr(e);
    }
  };
  const byId = new Map(recipients.map((r) => [r.id, r]));

  return (
    <div className="config" data-testid="triggers-page">
      <section className="card">
        <div className="inline" style={{ justifyContent: "space-between" }}>
          <h2>Triggers</h2>
          <div className="inline">
            <DatasetSelect value={dataset} datasets={datasets} allLabel="All datasets (__all__)" onChange={(v) => navigate("/triggers?dataset=" + seg(v))} />
            {editing === null && dataset && (
              <button type="button" onClick={() => setEditing("new")}>New trigger</button>
            )}
          </div>
        </div>
        <p className="muted">
          A trigger runs its query every frequency and fires when the value passes the threshold the given number of times in a row;
          it notifies its recipients on a change of state, or with <i>on true</i> on every evaluation that passes it.{" "}
          <Link href="/recipients">Recipients</Link>
        </p>
        {editing !== null && (
          <TriggerForm
            key={editing === "new" ? "new" : editing.id}
            dataset={dataset}
            trigger={editing === "new" ? null : editing}
            recipients={recipients}
            onDone={() => {
              setEditing(null);
              load();
            }}
            onCancel={() => setEditing(null)}
          />
        )}
        <ErrorBox error={err} />
        {!dataset && loaded && datasets.length === 0 && (
          <p className="muted">
            No datasets yet: a trigger queries a dataset, so send some data first (<Link href="/">Home</Link>), or choose{" "}
            <i>All datasets</i> for a trigger over every dataset.
          </p>
        )}
        {list && list.length === 0 && <p className="muted">No triggers on this dataset.</p>}
        {list && list.length > 0 && (
          <table className="grid" data-testid="triggers">
            <thead>
              <tr>
                <th>State</th>
                <th>Name</th>
                <th>Query</th>
                <th>Threshold</th>
                <th>Frequency</th>
                <th>Recipients</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id} data-trigger-id={t.id} data-name={t.name}>
                  <td><TriggerState t={t} /></td>
                  <td>
                    <b>{t.name}</b>
                    {t.description && <div className="muted">{t.description}</div>}
                  </td>
                  <td className="summary" data-testid="trigger-query">
                    <Link href={queryLink(dataset, t.query)} title="open as a query">{querySummary(t.query)}</Link>
                  </td>
                  <td data-testid="trigger-threshold">{thresholdText(t.threshold, baselineOf(t))}</td>
                  <td data-testid="trigger-frequency">
                    every {fmtSeconds(t.frequency)}
                    {t.evaluation_schedule_type === "window" && t.evaluation_schedule && (
                      <div className="muted">
                        {t.evaluation_schedule.window.days_of_week.map((d) => d.slice(0, 3)).join(", ")} {t.evaluation_schedule.window.start_time}–
                        {t.evaluation_schedule.window.end_time} UTC
                      </div>
                    )}
                    <div className="muted">{t.alert_type === "on_true" ? "on true" : "on change"}</div>
                  </td>
                  <td data-testid="trigger-recipients">
                    {t.recipients.length === 0 && <span className="muted">none</span>}
                    {t.recipients.map((r) => {
                      const rc = byId.get(r.id);
                      return (
                        <div key={r.id}>
                          {rc ? recipientName(rc) : r.target || r.id} <span className="muted">({r.type ?? rc?.type})</span>
                        </div>
                      );
                    })}
                  </td>
                  <td style={{ whiteSpace: "nowrap" }}>
                    <button type="button" className="small" onClick={() => setEditing(t)}>Edit</button>{" "}
                    <button type="button" className="small danger" onClick={() => remove(t)}>Delete</button>
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

interface FormState {
  name: string;
  description: string;
  op: string;
  column: string;
  filters: Filter[];
  combination: "AND" | "OR";
  breakdowns: string;
  timeRange: number;
  thresholdOp: string;
  thresholdValue: string;
  exceededLimit: number;
  frequency: number;
  alertType: "on_change" | "on_true";
  recipients: string[];
  disabled: boolean;
  /** 0: a static threshold */
  baselineOffset: number;
  baselineType: Baseline["type"];
}

function formOf(t: Trigger | null): FormState {
  const q = t?.query ?? {};
  const c = q.calculations?.[0] ?? { op: "COUNT" };
  return {
    name: t?.name ?? "",
    description: t?.description ?? "",
    op: c.op,
    column: c.column ?? "",
    filters: q.filters ?? [],
    combination: q.filter_combination ?? "AND",
    breakdowns: (q.breakdowns ?? []).join(", "),
    timeRange: q.time_range ?? 900,
    thresholdOp: t?.threshold.op ?? ">",
    thresholdValue: t ? String(t.threshold.value) : "",
    exceededLimit: t?.threshold.exceeded_limit ?? 1,
    frequency: t?.frequency ?? 900,
    alertType: t?.alert_type ?? "on_change",
    recipients: t?.recipients.map((r) => r.id) ?? [],
    disabled: t?.disabled ?? false,
    baselineOffset: baselineOf(t)?.offset_minutes ?? 0,
    baselineType: baselineOf(t)?.type ?? "percentage",
  };
}

function TriggerForm({
  dataset,
  trigger,
  recipients,
  onDone,
  onCancel,
}: {
  dataset: string;
  trigger: Trigger | null;
  recipients: Recipient[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const [f, setF] = useState<FormState>(() => formOf(trigger));
  const [columns, setColumns] = useState<Column[]>([]);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setF((s) => ({ ...s, [k]: v }));
  useEffect(() => {
    hc.get<Column[]>(`/1/columns/${seg(dataset)}`).then(setColumns, () => setColumns([]));
  }, [dataset]);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    if (f.thresholdValue.trim() !== "" && !isFinite(Number(f.thresholdValue))) {
      setErr(new APIError(422, `threshold.value: ${JSON.stringify(f.thresholdValue)} is not a number`, "", [{ field: "threshold.value", code: "invalid", description: "not a number" }]));
      return;
    }
    // The query's having, which the form does not edit, is kept; a
    // trigger's query takes no orders, limit or granularity.
    const query: Spec = { ...(trigger?.query ?? {}) };
    delete query.orders;
    delete query.limit;
    delete query.granularity;
    query.calculations = [UNARY_OPS.has(f.op) ? { op: f.op } : { op: f.op, column: f.column.trim() }];
    const filters = f.filters.filter((x) => x.column.trim());
    if (filters.length) query.filters = filters;
    else delete query.filters;
    if (filters.length > 1 && f.combination === "OR") query.filter_combination = "OR";
    else delete query.filter_combination;
    const breakdowns = f.breakdowns.split(",").map((b) => b.trim()).filter(Boolean);
    if (breakdowns.length) query.breakdowns = breakdowns;
    else delete query.breakdowns;
    query.time_range = f.timeRange;
    delete query.start_time;
    delete query.end_time;
    const value = f.thresholdValue.trim() === "" ? undefined : Number(f.thresholdValue);
    const keep = new Map((trigger?.recipients ?? []).map((r) => [r.id, r.details]));
    const body = {
      name: f.name,
      description: f.description,
      disabled: f.disabled,
      threshold: { op: f.thresholdOp, value, exceeded_limit: f.exceededLimit },
      frequency: f.frequency,
      alert_type: f.alertType,
      recipients: f.recipients.map((id) => (keep.get(id) ? { id, details: keep.get(id) } : { id })),
      query,
      // An edit keeps what this form does not show (PUT replaces the trigger);
      // without baseline_details the trigger has a static threshold.
      evaluation_schedule_type: trigger?.evaluation_schedule_type,
      evaluation_schedule: trigger?.evaluation_schedule,
      tags: trigger?.tags,
      baseline_details: f.baselineOffset ? { offset_minutes: f.baselineOffset, type: f.baselineType } : undefined,
    };
    setBusy(true);
    try {
      if (trigger) await hc.put(`/1/triggers/${seg(dataset)}/${seg(trigger.id)}`, body);
      else await hc.post(`/1/triggers/${seg(dataset)}`, body);
      onDone();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };

  const p = (field: string) => fieldError(err, field);
  const filterRow = (x: Filter, i: number) => {
    const upd = (n: Partial<Filter>) => set("filters", f.filters.map((y, j) => (j === i ? { ...y, ...n } : y)));
    return (
      <span className="term" key={i} data-testid="trigger-filter">
        <input list="trigger-columns" value={x.column} onChange={(e) => upd({ column: e.target.value })} placeholder="column" aria-label="filter column" autoComplete="off" />
        <select value={x.op} onChange={(e) => upd({ op: e.target.value, value: NO_VALUE_OPS.has(e.target.value) ? undefined : x.value })} aria-label="filter operator">
          {FILTER_OPS.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
        {!NO_VALUE_OPS.has(x.op) && (
          <input defaultValue={filterValueText(x.value)} onBlur={(e) => upd({ value: parseFilterValue(x.op, e.target.value) })} placeholder="value" aria-label="filter value" />
        )}
        <button type="button" className="x" aria-label="remove filter" onClick={() => set("filters", f.filters.filter((_, j) => j !== i))}>×</button>
      </span>
    );
  };

  return (
    <form className="card" onSubmit={save} data-testid="trigger-form" noValidate>
      <h3>{trigger ? `Edit ${trigger.name}` : "New trigger"}</h3>
      <datalist id="trigger-columns">
        {columns.map((c) => (
          <option key={c.id} value={c.key_name} />
        ))}
      </datalist>
      <div className="form-grid">
        <FieldRow label="Name" problem={p("name")}>
          <input className="wide" name="name" aria-label="Name" value={f.name} onChange={(e) => set("name", e.target.value)} />
        </FieldRow>
        <FieldRow label="Description" problem={p("description")}>
          <input className="wide" name="description" aria-label="Description" value={f.description} onChange={(e) => set("description", e.target.value)} />
        </FieldRow>
        <FieldRow label="Calculation" problem={p("query.calculations")}>
          <select name="calculation" aria-label="Calculation" value={f.op} onChange={(e) => set("op", e.target.value)}>
            {TRIGGER_OPS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
          {!UNARY_OPS.has(f.op) && (
            <input list="trigger-columns" name="calculation-column" aria-label="Calculation column" placeholder="column" value={f.column} onChange={(e) => set("column", e.target.value)} autoComplete="off" />
          )}
        </FieldRow>
        <FieldRow label="Where" problem={p("query.filters")}>
          {f.filters.map(filterRow)}
          <button type="button" className="small" onClick={() => set("filters", [...f.filters, { column: "", op: "=" }])}>+ filter</button>
          {f.filters.length > 1 && (
            <select value={f.combination} onChange={(e) => set("combination", e.target.value as "AND" | "OR")} aria-label="filter combination">
              <option>AND</option>
              <option>OR</option>
            </select>
          )}
        </FieldRow>
        <FieldRow label="Group by" problem={p("query.breakdowns")}>
          <input className="wide" name="breakdowns" aria-label="Group by" placeholder="columns, comma separated (optional): fires when any group passes" value={f.breakdowns} onChange={(e) => set("breakdowns", e.target.value)} />
        </FieldRow>
        <FieldRow label="Time range" problem={p("query.time_range")}>
          <select name="time_range" aria-label="Time range" value={f.timeRange} onChange={(e) => set("timeRange", Number(e.target.value))}>
            {(RANGES.includes(f.timeRange) ? RANGES : [...RANGES, f.timeRange].sort((a, b) => a - b)).map((r) => (
              <option key={r} value={r}>
                last {fmtSeconds(r)}
              </option>
            ))}
          </select>
          <span className="muted">
            from the frequency to {fmtSeconds(Math.min(f.frequency * 4, 86400))} (four times the frequency, at most a day)
          </span>
        </FieldRow>
        <FieldRow label="Threshold" problem={p("threshold")}>
          <span className="muted">{label({ op: f.op, column: f.column || undefined })}</span>
          <select name="threshold_op" aria-label="Threshold operator" value={f.thresholdOp} onChange={(e) => set("thresholdOp", e.target.value)}>
            {THRESHOLD_OPS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
          <input name="threshold_value" aria-label="Threshold value" inputMode="decimal" style={{ width: 110 }} value={f.thresholdValue} onChange={(e) => set("thresholdValue", e.target.value)} />
          <label>
            exceeded
            <select name="exceeded_limit" aria-label="Exceeded limit" value={f.exceededLimit} onChange={(e) => set("exceededLimit", Number(e.target.value))}>
              {[1, 2, 3, 4, 5].map((n) => (
                <option key={n} value={n}>{n}</option>
              ))}
            </select>
            {f.exceededLimit === 1 ? "time" : "times in a row"}
          </label>
        </FieldRow>
        <FieldRow label="Compared with" problem={p("baseline_details")}>
          <select name="baseline_offset" aria-label="Baseline" value={f.baselineOffset} onChange={(e) => set("baselineOffset", Number(e.target.value))}>
            <option value={0}>the threshold as it is (static)</option>
            {BASELINE_OFFSETS.map(([m, l]) => (
              <option key={m} value={m}>
                its change since {l} before (baseline)
              </option>
            ))}
          </select>
          {f.baselineOffset > 0 && (
            <select name="baseline_type" aria-label="Baseline change" value={f.baselineType} onChange={(e) => set("baselineType", e.target.value as Baseline["type"])}>
              <option value="percentage">in percent</option>
              <option value="value">in value</option>
            </select>
          )}
        </FieldRow>
        <FieldRow label="Frequency" problem={p("frequency")}>
          <select name="frequency" aria-label="Frequency" value={f.frequency} onChange={(e) => set("frequency", Number(e.target.value))}>
            {(FREQUENCIES.includes(f.frequency) ? FREQUENCIES : [...FREQUENCIES, f.frequency].sort((a, b) => a - b)).map((s) => (
              <option key={s} value={s}>
                every {fmtSeconds(s)}
              </option>
            ))}
          </select>
        </FieldRow>
        <FieldRow label="Notify" problem={p("alert_type")}>
          <select name="alert_type" aria-label="Alert type" value={f.alertType} onChange={(e) => set("alertType", e.target.value as FormState["alertType"])}>
            <option value="on_change">on change (triggered and resolved)</option>
            <option value="on_true">on true (every evaluation that passes, and resolved)</option>
          </select>
        </FieldRow>
        <FieldRow label="Recipients" problem={p("recipients")}>
          <div className="pick" data-testid="trigger-recipient-pick">
            {recipients.length === 0 && (
              <span className="muted">
                No recipients yet: <Link href="/recipients">create one</Link>.
              </span>
            )}
            {recipients.map((r) => (
              <label key={r.id}>
                <input
                  type="checkbox"
                  checked={f.recipients.includes(r.id)}
                  onChange={(e) => set("recipients", e.target.checked ? [...f.recipients, r.id] : f.recipients.filter((id) => id !== r.id))}
                />
                {recipientName(r)} <span className="muted">({r.type})</span>
              </label>
            ))}
          </div>
        </FieldRow>
        <FieldRow label="Disabled" problem={p("disabled")}>
          <label>
            <input type="checkbox" name="disabled" checked={f.disabled} onChange={(e) => set("disabled", e.target.checked)} /> not evaluated while disabled
          </label>
        </FieldRow>
      </div>
      <ErrorBox error={err} />
      <div className="inline">
        <button type="submit" disabled={busy}>{trigger ? "Save trigger" : "Create trigger"}</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
