import { StrictMode, Suspense, lazy, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { APIError, get, post, selectEnv, selectedEnv, type Session } from "./api";
import { Link, useLocation } from "./router";
import { Home } from "./pages/Home";
import { TracePage } from "./pages/Trace";
import { Settings } from "./pages/Settings";
import { ErrorBox } from "./ui";
import "./styles.css";

// The pages that pull in chart and graph libraries load on demand.
const QueryPage = lazy(() => import("./pages/Query"));
const TracesPage = lazy(() => import("./pages/Traces"));
const ServiceMap = lazy(() => import("./pages/ServiceMap"));
const XRayPage = lazy(() => import("./pages/XRay"));
const TriggersPage = lazy(() => import("./pages/Triggers"));
const RecipientsPage = lazy(() => import("./pages/Recipients"));
const DerivedPage = lazy(() => import("./pages/Derived"));
const SLOsPage = lazy(() => import("./pages/SLOs"));
const BoardsPage = lazy(() => import("./pages/Boards"));
const ComparePage = lazy(() => import("./pages/Compare"));

function Login({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState("");
  const [err, setErr] = useState<unknown>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    try {
      await post("/login", { key });
      onDone();
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <div className="login">
      <h1>tracecomb</h1>
      <p>
        This UI is reachable from other machines, so it asks for an API key of your environment: a configuration key (an
        ingest key can only send data).
      </p>
      <form onSubmit={submit}>
        <label>
          API key
          <input type="password" name="key" autoComplete="current-password" value={key} onChange={(e) => setKey(e.target.value)} autoFocus />
        </label>
        <button type="submit" disabled={!key}>Log in</button>
      </form>
      <ErrorBox error={err} />
    </div>
  );
}

const NAV: [string, string][] = [
  ["/", "Home"],
  ["/query", "Query"],
  ["/traces", "Traces"],
  ["/map", "Service map"],
  ["/xray", "X-Ray"],
  ["/boards", "Boards"],
  ["/slos", "SLOs"],
  ["/triggers", "Triggers"],
  ["/recipients", "Recipients"],
  ["/derived-columns", "Derived columns"],
  ["/settings", "Settings"],
];

function App() {
  const loc = useLocation();
  const [session, setSession] = useState<Session | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const load = useCallback(() => {
    get<Session>("/session")
      .then((s) => {
        // A stored environment that no longer exists falls back to the default.
        if (s.mode === "open" && selectedEnv() && s.env?.slug !== selectedEnv()) selectEnv(s.env?.slug ?? "");
        setSession(s);
      })
      .catch((e) => {
        if (e instanceof APIError && e.status === 404 && selectedEnv()) {
          selectEnv("");
          load();
          return;
        }
        setErr(e);
      });
  }, []);
  useEffect(load, [load]);

  if (err) return <ErrorBox error={err} />;
  if (!session) return <div className="loading">Loading…</div>;
  if (!session.logged_in) return <Login onDone={load} />;

  // The comparison of two traces belongs to the Traces tab.
  const active = (p: string) => (p === "/" ? loc.path === "/" : loc.path.startsWith(p) || (p === "/traces" && loc.path === "/compare"));
  let page: React.ReactNode;
  if (loc.path === "/") page = <Home session={session} />;
  else if (loc.path.startsWith("/trace/")) page = <TracePage id={decodeURIComponent(loc.path.slice(7))} />;
  else if (loc.path === "/query") page = <QueryPage session={session} />;
  else if (loc.path === "/compare") page = <ComparePage />;
  else if (loc.path === "/traces") page = <TracesPage session={session} />;
  else if (loc.path === "/map") page = <ServiceMap session={session} />;
  else if (loc.path.startsWith("/xray")) page = <XRayPage session={session} />;
  else if (loc.path === "/boards") page = <BoardsPage />;
  else if (loc.path === "/slos") page = <SLOsPage />;
  else if (loc.path === "/triggers") page = <TriggersPage />;
  else if (loc.path === "/recipients") page = <RecipientsPage />;
  else if (loc.path === "/derived-columns") page = <DerivedPage />;
  else if (loc.path === "/settings") page = <Settings session={session} onChange={load} />;
  else page = <p>Nothing here. <Link href="/">Home</Link></p>;

  return (
    <div className="app">
      <header>
        <Link href="/" className="brand">tracecomb</Link>
        <nav>
          {NAV.map(([p, label]) => (
            <Link key={p} href={p} className={active(p) ? "active" : ""}>{label}</Link>
          ))}
        </nav>
        <div className="env">
          {session.mode === "open" ? (
            <select
              aria-label="Environment"
              value={session.env?.slug}
              onChange={(e) => {
                selectEnv(e.target.value);
                window.location.reload();
              }}
            >
              {session.environments.map((e) => (
                <option key={e.slug} value={e.slug}>{e.name}</option>
              ))}
            </select>
          ) : (
            <>
              <span className="env-name">{session.env?.name}</span>
              <button className="link" onClick={() => post("/logout").then(load)}>Log out</button>
            </>
          )}
        </div>
      </header>
      <main>
        <Suspense fallback={<div className="loading">Loading…</div>}>{page}</Suspense>
      </main>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
