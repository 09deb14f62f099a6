import { useEffect, useState } from "react";
import { hc, post, type Dataset, type KeyInfo, type Session } from "../api";
import { Link, navigate } from "../router";
import { CopyButton, ErrorBox, fmtAgo } from "../ui";
import { runQuery } from "../querySpec";

function queryHref(dataset: string, q?: object) {
  const p = new URLSearchParams({ dataset });
  if (q) p.set("q", JSON.stringify(q));
  return "/query?" + p.toString();
}

export function Home({ session }: { session: Session }) {
  const [datasets, setDatasets] = useState<Dataset[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [traceId, setTraceId] = useState("");

  const [counts, setCounts] = useState<Record<string, number | null>>({});
  useEffect(() => {
    hc.get<Dataset[]>("/1/datasets").then(setDatasets, setErr);
  }, []);
  // Spans in the last hour per dataset, when the query API is there.
  useEffect(() => {
    if (!datasets) return;
    let cancelled = false;
    (async () => {
      for (const d of datasets.slice(0, 30)) {
        try {
          const r = await runQuery(d.slug, { calculations: [{ op: "COUNT" }], time_range: 3600 }, { disable_series: true });
          const n = Number(r.results[0]?.data["COUNT"] ?? 0);
          if (!cancelled) setCounts((c) => ({ ...c, [d.slug]: n }));
        } catch {
          if (!cancelled) setCounts((c) => ({ ...c, [d.slug]: null }));
          return;
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [datasets]);

  const sorted = [...(datasets ?? [])].sort((a, b) => (b.last_written_at ?? "").localeCompare(a.last_written_at ?? ""));

  return (
    <div className="home">
      <section className="card">
        <h2>
          Datasets in <span className="env-name">{session.env?.name}</span>
        </h2>
        <ErrorBox error={err} />
        {datasets && datasets.length === 0 && <p className="muted">No data yet. Send some traces with the settings below.</p>}
        {sorted.length > 0 && (
          <table className="grid" data-testid="datasets">
            <thead>
              <tr>
                <th>Dataset</th>
                <th>Last event</th>
                <th className="num">Events, last hour</th>
                <th>Columns</th>
                <th>Created</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((d) => (
                <tr key={d.slug}>
                  <td>
                    <Link href={queryHref(d.slug)}>{d.name}</Link>
                  </td>
                  <td title={d.last_written_at ?? ""}>{fmtAgo(d.last_written_at)}</td>
                  <td className="num" data-testid="recent-count">{counts[d.slug] === undefined ? "…" : counts[d.slug] === null ? "–" : counts[d.slug]}</td>
                  <td>{d.regular_columns_count ?? "–"}</td>
                  <td title={d.created_at}>{fmtAgo(d.created_at)}</td>
                  <td className="actions">
                    <Link href={queryHref(d.slug, { calculations: [{ op: "COUNT" }, { op: "P99", column: "duration_ms" }], time_range: 7200 })}>Count &amp; P99</Link>
                    <Link href={"/traces?" + new URLSearchParams({ dataset: d.slug }).toString()}>Recent traces</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            if (traceId.trim()) navigate("/trace/" + encodeURIComponent(traceId.trim()));
          }}
        >
          <input placeholder="Trace id (W3C or X-Ray 1-…)" value={traceId} onChange={(e) => setTraceId(e.target.value)} aria-label="Trace id" />
          <button type="submit">Open trace</button>
        </form>
      </section>
      <AddData session={session} />
    </div>
  );
}

type Lang = "go" | "python" | "xray";

function AddData({ session }: { session: Session }) {
  const [lang, setLang] = useState<Lang>("go");
  const [key, setKey] = useState<string>("");
  const [err, setErr] = useState<unknown>(null);
  const [service, setService] = useState("my-service");
  const ep = session.endpoints;
  const shownKey = key || "<YOUR_API_KEY>";

  const createKey = async () => {
    setErr(null);
    try {
      const r = await post<{ key: KeyInfo; secret: string }>("/settings/keys", { env: session.env?.slug, name: "added from Home" });
      setKey(r.secret);
    } catch (e) {
      setErr(e);
    }
  };

  let snippet = "";
  let note: React.ReactNode = null;
  if (lang === "go") {
    snippet = [
      `export OTEL_SERVICE_NAME=${service}`,
      `export OTEL_EXPORTER_OTLP_ENDPOINT=${ep.otlp_http}`,
      `export OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=${shownKey}`,
    ].join("\n");
    note = (
      <p className="muted">
        With <code>otlptracehttp.New(ctx)</code> from go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp.
        For gRPC (<code>otlptracegrpc</code>) use <code>OTEL_EXPORTER_OTLP_ENDPOINT=http://{ep.otlp_grpc || "localhost:4317"}</code>.
      </p>
    );
  } else if (lang === "python") {
    snippet = [
      `export OTEL_SERVICE_NAME=${service}`,
      `export OTEL_TRACES_EXPORTER=otlp`,
      `export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`,
      `export OTEL_EXPORTER_OTLP_ENDPOINT=${ep.otlp_http}`,
      `export OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=${shownKey}`,
      `opentelemetry-instrument python app.py`,
    ].join("\n");
    note = <p className="muted">With opentelemetry-distro and opentelemetry-exporter-otlp-proto-http installed.</p>;
  } else {
    snippet = [`export AWS_XRAY_DAEMON_ADDRESS=${ep.xray_daemon || "127.0.0.1:2000"}`, `export AWS_XRAY_TRACING_NAME=${service}`].join("\n");
    note = (
      <p className="muted">
        The X-Ray SDKs send segments over UDP to this address and poll sampling rules from it over TCP.
        {ep.xray_daemon ? "" : " (The X-Ray daemon door is disabled on this server.)"} Segments land in the environment the daemon door serves.
      </p>
    );
  }

  return (
    <section className="card" data-testid="add-data">
      <h2>Add your data</h2>
      <div className="tabs" role="tablist">
        {(
          [
            ["go", "Go (OpenTelemetry)"],
            ["python", "Python (OpenTelemetry)"],
            ["xray", "AWS X-Ray SDK"],
          ] as [Lang, string][]
        ).map(([l, label]) => (
          <button key={l} role="tab" aria-selected={lang === l} className={lang === l ? "tab active" : "tab"} onClick={() => setLang(l)}>
            {label}
          </button>
        ))}
      </div>
      <label className="inline">
        Service name <input value={service} onChange={(e) => setService(e.target.value || "my-service")} />
      </label>
      <div className="snippet">
        <pre data-testid="snippet">{snippet}</pre>
        <CopyButton text={snippet} />
      </div>
      {note}
      {lang !== "xray" &&
        (key ? (
          <p className="notice" data-testid="new-key">
            A new key was created for <b>{session.env?.name}</b> and is filled in above. It is shown only this once: keep it.
          </p>
        ) : (
          <p>
            {session.key_login ? (
              <button onClick={createKey}>Create an API key for these settings</button>
            ) : (
              <a href="/settings" data-testid="login-to-create">Log in on Settings to create a key here</a>
            )}{" "}
            <span className="muted">(keys are stored hashed, so existing ones cannot be shown again)</span>
          </p>
        ))}
      <ErrorBox error={err} />
    </section>
  );
}
