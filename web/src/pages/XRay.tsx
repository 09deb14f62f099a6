import { useCallback, useEffect, useState } from "react";
import { xray, type Doors, type Session } from "../api";
import { DoorsPicker, useDoors } from "../doors";
import { Link, useLocation } from "../router";
import { ErrorBox, PositionError, fmtDuration } from "../ui";
import { TIME_RANGES } from "../querySpec";
import Analytics from "./XRayAnalytics";

export default function XRayPage({ session }: { session: Session }) {
  const loc = useLocation();
  const tabs: [string, string][] = [
    ["/xray", "Traces"],
    ["/xray/analytics", "Analytics"],
    ["/xray/groups", "Groups"],
    ["/xray/rules", "Sampling rules"],
  ];
  let body: React.ReactNode;
  if (!session.xray) body = <ErrorBox error={new Error("The X-Ray API is not enabled on this server.")} />;
  else if (loc.path === "/xray/analytics") body = <Analytics />;
  else if (loc.path === "/xray/groups") body = <Groups />;
  else if (loc.path === "/xray/rules") body = <Rules />;
  else body = <Traces />;
  return (
    <div className="xray">
      <nav className="subnav">
        {tabs.map(([p, l]) => (
          <Link key={p} href={p} className={loc.path === p ? "active" : ""}>{l}</Link>
        ))}
      </nav>
      {body}
    </div>
  );
}

function FilterError({ expr, error }: { expr: string; error: unknown }) {
  return <PositionError expr={expr} error={error} testId="filter-error" />;
}

interface TraceSummary {
  Id: string;
  StartTime?: number;
  Duration?: number;
  ResponseTime?: number;
  HasError?: boolean;
  HasFault?: boolean;
  HasThrottle?: boolean;
  Http?: { HttpURL?: string; HttpStatus?: number; HttpMethod?: string };
  EntryPoint?: { Name?: string };
  ServiceIds?: { Name?: string }[];
}

interface SummariesPage {
  TraceSummaries?: TraceSummary[];
  NextToken?: string;
  TracesProcessedCount?: number;
}

// A search as it was run: its window and filter stay fixed while later
// pages are loaded.
interface Search {
  start: number;
  end: number;
  expr: string;
  doors: Doors;
}

// PAGES_PER_LOAD pages of GetTraceSummaries (100 summaries each by default)
// are read per search and per "Load more".
const PAGES_PER_LOAD = 5;

const newestFirst = (a: TraceSummary, b: TraceSummary) => (b.StartTime ?? 0) - (a.StartTime ?? 0) || a.Id.localeCompare(b.Id);

function Traces() {
  const [doors, setDoors] = useDoors();
  const loc = useLocation();
  const [expr, setExpr] = useState(() => loc.params.get("filter") ?? "");
  const [range, setRange] = useState(3600);
  const [rows, setRows] = useState<TraceSummary[] | null>(null);
  const [scanned, setScanned] = useState<number | null>(null);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [search, setSearch] = useState<Search | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // load reads up to PAGES_PER_LOAD pages of a search from token on and
  // adds them to what is shown. TracesProcessedCount is the whole query's
  // (every page repeats it), so it is taken as is, never added up.
  const load = useCallback(async (s: Search, token: string | undefined, shown: TraceSummary[]) => {
    setErr(null);
    setBusy(true);
    setSearch(s);
    try {
      const out = [...shown];
      const seen = new Set(out.map((t) => t.Id));
      let processed: number | null = null;
      for (let i = 0; i < PAGES_PER_LOAD; i++) {
        const r = await xray<SummariesPage>(
          "TraceSummaries",
          {
            StartTime: s.start,
            EndTime: s.end,
            ...(s.expr.trim() ? { FilterExpression: s.expr } : {}),
            ...(token ? { NextToken: token } : {}),
          },
          s.doors,
        );
        for (const t of r.TraceSummaries ?? []) {
          if (!seen.has(t.Id)) {
            seen.add(t.Id);
            out.push(t);
          }
        }
        if (r.TracesProcessedCount !== undefined) processed = r.TracesProcessedCount;
        token = r.NextToken;
        if (!token) break;
      }
      out.sort(newestFirst);
      setRows(out);
      setNext(token);
      if (processed !== null) setScanned(processed);
    } catch (e) {
      setErr(e);
      if (shown.length === 0) setRows(null);
    } finally {
      setBusy(false);
    }
  }, []);
  const run = (d = doors) => {
    const end = Math.floor(Date.now() / 1000);
    setNext(undefined);
    load({ start: end - range, end, expr, doors: d }, undefined, []);
  };
  useEffect(() => {
    run();
    // Run on open and when the data picker changes; other runs are asked for.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [doors]);
  return (
    <div className="card">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
      >
        <div className="inline">
          <DoorsPicker doors={doors} onChange={setDoors} />
        </div>
        <label style={{ display: "block" }}>
          <span className="muted">Filter expression, e.g. <code>service("backend") AND responsetime &gt; 0.05</code> or <code>fault = true</code></span>
          <textarea rows={2} value={expr} onChange={(e) => setExpr(e.target.value)} name="filter" spellCheck={false} style={{ fontFamily: "ui-monospace, monospace" }} />
        </label>
        <div className="inline">
          <select value={range} onChange={(e) => setRange(Number(e.target.value))} aria-label="Time range">
            {TIME_RANGES.filter(([s]) => s <= 86400).map(([s, l]) => (
              <option key={s} value={s}>{l}</option>
            ))}
          </select>
          <button type="submit" disabled={busy}>{busy ? "Searching…" : "Search traces"}</button>
          {scanned !== null && rows && (
            <span className="muted" data-testid="xray-counts" data-matching={rows.length} data-scanned={scanned} data-more={next ? "1" : "0"}>
              {next ? `first ${rows.length} matching (more match)` : `${rows.length} matching`} of {scanned} traces scanned
            </span>
          )}
        </div>
      </form>
      <FilterError expr={search?.expr ?? expr} error={err} />
      {rows && (
        <table className="grid" data-testid="trace-summaries">
          <thead>
            <tr>
              <th>Trace</th>
              <th>Started</th>
              <th>Entry point</th>
              <th>Method</th>
              <th>URL</th>
              <th>Status</th>
              <th className="num">Response</th>
              <th className="num">Duration</th>
              <th>Services</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.Id} data-trace-id={t.Id}>
                <td>
                  <Link href={"/trace/" + encodeURIComponent(t.Id)}>{t.Id}</Link>
                </td>
                <td title={t.StartTime !== undefined ? new Date(t.StartTime * 1000).toISOString() : ""}>{t.StartTime !== undefined ? new Date(t.StartTime * 1000).toLocaleTimeString() : ""}</td>
                <td>{t.EntryPoint?.Name}</td>
                <td>{t.Http?.HttpMethod}</td>
                <td>{t.Http?.HttpURL}</td>
                <td className={t.HasFault || t.HasError ? "err-text" : ""}>
                  {t.Http?.HttpStatus ?? ""} {t.HasFault ? "fault" : t.HasError ? "error" : t.HasThrottle ? "throttle" : "ok"}
                </td>
                <td className="num">{t.ResponseTime !== undefined ? fmtDuration(t.ResponseTime * 1000) : ""}</td>
                <td className="num">{t.Duration !== undefined ? fmtDuration(t.Duration * 1000) : ""}</td>
                <td>{(t.ServiceIds ?? []).map((s) => s.Name).join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows && next && search && (
        <div className="inline">
          <button type="button" disabled={busy} onClick={() => load(search, next, rows)}>
            {busy ? "Loading…" : "Load more"}
          </button>
          <span className="muted">{rows.length} shown; X-Ray has more matching traces in this time range.</span>
        </div>
      )}
    </div>
  );
}

interface Group {
  GroupName: string;
  GroupARN?: string;
  FilterExpression?: string;
  InsightsConfiguration?: { InsightsEnabled?: boolean; NotificationsEnabled?: boolean };
}

function Groups() {
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [form, setForm] = useState<Group & { editing?: boolean }>({ GroupName: "", FilterExpression: "" });
  const [formErr, setFormErr] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const out: Group[] = [];
      let token: string | undefined;
      for (let i = 0; i < 20; i++) {
        const r = await xray<{ Groups?: Group[]; NextToken?: string }>("Groups", token ? { NextToken: token } : {});
        out.push(...(r.Groups ?? []));
        token = r.NextToken;
        if (!token) break;
      }
      setGroups(out);
    } catch (e) {
      setErr(e);
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setFormErr(null);
    try {
      const body = {
        GroupName: form.GroupName,
        FilterExpression: form.FilterExpression ?? "",
        InsightsConfiguration: { InsightsEnabled: !!form.InsightsConfiguration?.InsightsEnabled, NotificationsEnabled: !!form.InsightsConfiguration?.NotificationsEnabled },
      };
      await xray(form.editing ? "UpdateGroup" : "CreateGroup", body);
      setForm({ GroupName: "", FilterExpression: "" });
      load();
    } catch (e) {
      setFormErr(e);
    }
  };
  const del = async (g: Group) => {
    if (!confirm(`Delete group ${g.GroupName}?`)) return;
    try {
      await xray("DeleteGroup", { GroupName: g.GroupName });
      load();
    } catch (e) {
      setErr(e);
    }
  };
  const insights = form.InsightsConfiguration ?? {};
  return (
    <div className="two">
      <section className="card">
        <h2>Groups</h2>
        <ErrorBox error={err} />
        <table className="grid" data-testid="groups">
          <thead>
            <tr>
              <th>Name</th>
              <th>Filter expression</th>
              <th>Insights</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {(groups ?? []).map((g) => (
              <tr key={g.GroupName} data-group={g.GroupName}>
                <td>{g.GroupName}</td>
                <td><code>{g.FilterExpression}</code></td>
                <td>{g.InsightsConfiguration?.InsightsEnabled ? "on" : "off"}</td>
                <td>
                  {g.GroupName !== "Default" && (
                    <>
                      <button className="small" onClick={() => setForm({ ...g, editing: true })}>Edit</button>{" "}
                      <button className="small danger" onClick={() => del(g)}>Delete</button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>{form.editing ? `Edit group ${form.GroupName}` : "Create a group"}</h2>
        <form onSubmit={save} data-testid="group-form">
          <p>
            <label>
              Name <input name="GroupName" value={form.GroupName} disabled={form.editing} onChange={(e) => setForm({ ...form, GroupName: e.target.value })} />
            </label>
          </p>
          <label style={{ display: "block" }}>
            <span className="muted">Filter expression</span>
            <textarea name="FilterExpression" rows={3} value={form.FilterExpression ?? ""} onChange={(e) => setForm({ ...form, FilterExpression: e.target.value })} spellCheck={false} />
          </label>
          <p className="inline">
            <label>
              <input type="checkbox" checked={!!insights.InsightsEnabled} onChange={(e) => setForm({ ...form, InsightsConfiguration: { ...insights, InsightsEnabled: e.target.checked } })} /> Insights
            </label>
            <label>
              <input type="checkbox" checked={!!insights.NotificationsEnabled} onChange={(e) => setForm({ ...form, InsightsConfiguration: { ...insights, NotificationsEnabled: e.target.checked } })} /> Notifications
            </label>
          </p>
          <div className="inline">
            <button type="submit">{form.editing ? "Save group" : "Create group"}</button>
            {form.editing && <button type="button" onClick={() => setForm({ GroupName: "", FilterExpression: "" })}>Cancel</button>}
          </div>
        </form>
        <FilterError expr={form.FilterExpression ?? ""} error={formErr} />
      </section>
    </div>
  );
}

interface Rule {
  RuleName: string;
  RuleARN?: string;
  ResourceARN: string;
  Priority: number;
  FixedRate: number;
  ReservoirSize: number;
  ServiceName: string;
  ServiceType: string;
  Host: string;
  HTTPMethod: string;
  URLPath: string;
  Version: number;
  Attributes?: Record<string, string>;
}
interface RuleRecord {
  SamplingRule: Rule;
  CreatedAt?: number;
  ModifiedAt?: number;
}

const NEW_RULE: Rule = { RuleName: "", ResourceARN: "*", Priority: 1000, FixedRate: 0.05, ReservoirSize: 1, ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", Version: 1, Attributes: {} };

function Rules() {
  const [rules, setRules] = useState<RuleRecord[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [form, setForm] = useState<Rule>(NEW_RULE);
  const [attrs, setAttrs] = useState("");
  const [editing, setEditing] = useState(false);
  const [formErr, setFormErr] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const out: RuleRecord[] = [];
      let token: string | undefined;
      for (let i = 0; i < 20; i++) {
        const r = await xray<{ SamplingRuleRecords?: RuleRecord[]; NextToken?: string }>("GetSamplingRules", token ? { NextToken: token } : {});
        out.push(...(r.SamplingRuleRecords ?? []));
        token = r.NextToken;
        if (!token) break;
      }
      out.sort((a, b) => a.SamplingRule.Priority - b.SamplingRule.Priority);
      setRules(out);
    } catch (e) {
      setErr(e);
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);
  const edit = (r: Rule) => {
    setForm(r);
    setAttrs(Object.entries(r.Attributes ?? {}).map(([k, v]) => `${k}=${v}`).join("\n"));
    setEditing(true);
    setFormErr(null);
  };
  const reset = () => {
    setForm(NEW_RULE);
    setAttrs("");
    setEditing(false);
  };
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setFormErr(null);
    const attributes: Record<string, string> = {};
    for (const line of attrs.split("\n")) {
      if (!line.trim()) continue;
      const i = line.indexOf("=");
      if (i < 0) {
        setFormErr(new Error(`attribute "${line}" is not key=value`));
        return;
      }
      attributes[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const { RuleARN: _arn, ...rule } = form;
    try {
      if (editing) {
        const upd: Record<string, unknown> = { ...rule, Attributes: attributes };
        delete upd.Version;
        await xray("UpdateSamplingRule", { SamplingRuleUpdate: upd });
      } else {
        await xray("CreateSamplingRule", { SamplingRule: { ...rule, Attributes: attributes } });
      }
      reset();
      load();
    } catch (e) {
      setFormErr(e);
    }
  };
  const del = async (r: Rule) => {
    if (!confirm(`Delete sampling rule ${r.RuleName}?`)) return;
    try {
      await xray("DeleteSamplingRule", { RuleName: r.RuleName });
      load();
    } catch (e) {
      setErr(e);
    }
  };
  const text = (k: keyof Rule, labelText: string) => (
    <label>
      {labelText}
      <input name={k} value={String(form[k] ?? "")} disabled={editing && k === "RuleName"} onChange={(e) => setForm({ ...form, [k]: e.target.value })} />
    </label>
  );
  const num = (k: keyof Rule, labelText: string, step = "1") => (
    <label>
      {labelText}
      <input name={k} type="number" step={step} value={String(form[k] ?? "")} onChange={(e) => setForm({ ...form, [k]: e.target.value === "" ? NaN : Number(e.target.value) })} />
    </label>
  );
  return (
    <div>
      <section className="card">
        <h2>Sampling rules</h2>
        <ErrorBox error={err} />
        <table className="grid" data-testid="rules">
          <thead>
            <tr>
              <th>Name</th>
              <th className="num">Priority</th>
              <th className="num">Reservoir</th>
              <th className="num">Rate</th>
              <th>Service</th>
              <th>Type</th>
              <th>Host</th>
              <th>Method</th>
              <th>URL path</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {(rules ?? []).map(({ SamplingRule: r }) => (
              <tr key={r.RuleName} data-rule={r.RuleName}>
                <td>{r.RuleName}</td>
                <td className="num">{r.Priority}</td>
                <td className="num">{r.ReservoirSize}/s</td>
                <td className="num">{(r.FixedRate * 100).toFixed(1)}%</td>
                <td>{r.ServiceName}</td>
                <td>{r.ServiceType}</td>
                <td>{r.Host}</td>
                <td>{r.HTTPMethod}</td>
                <td>{r.URLPath}</td>
                <td>
                  <button className="small" onClick={() => edit(r)}>Edit</button>{" "}
                  {r.RuleName !== "Default" && <button className="small danger" onClick={() => del(r)}>Delete</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>{editing ? `Edit rule ${form.RuleName}` : "Create a sampling rule"}</h2>
        <form onSubmit={save} data-testid="rule-form">
          <div className="row-form">
            {text("RuleName", "Rule name")}
            {num("Priority", "Priority (1–9999)")}
            {num("ReservoirSize", "Reservoir (traces/s)")}
            {num("FixedRate", "Fixed rate (0–1)", "0.01")}
            {text("ServiceName", "Service name")}
            {text("ServiceType", "Service type")}
            {text("Host", "Host")}
            {text("HTTPMethod", "HTTP method")}
            {text("URLPath", "URL path")}
            {text("ResourceARN", "Resource ARN")}
            <label style={{ gridColumn: "span 2" }}>
              Attributes (key=value per line)
              <textarea name="Attributes" rows={2} value={attrs} onChange={(e) => setAttrs(e.target.value)} />
            </label>
          </div>
          <div className="inline">
            <button type="submit">{editing ? "Save rule" : "Create rule"}</button>
            {editing && <button type="button" onClick={reset}>Cancel</button>}
          </div>
        </form>
        <ErrorBox error={formErr} />
      </section>
    </div>
  );
}
