// Derived columns: an expression under an alias that queries use as a
// column of the dataset, or of every dataset when made under __all__
// (/1/derived_columns/{dataset}). A syntax error is shown with a caret
// under the column the API names.
import { useCallback, useEffect, useState } from "react";
import { hc, seg } from "../api";
import { navigate, useLocation } from "../router";
import { DatasetSelect, ErrorBox, FieldRow, PositionError, fieldError, useDatasets } from "../ui";

interface DerivedColumn {
  id: string;
  alias: string;
  expression: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export default function DerivedPage() {
  const loc = useLocation();
  const { datasets } = useDatasets();
  const dataset = loc.params.get("dataset") || "__all__";
  const [list, setList] = useState<DerivedColumn[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [editing, setEditing] = useState<DerivedColumn | "new" | null>(null);

  const load = useCallback(() => {
    hc.get<DerivedColumn[]>(`/1/derived_columns/${seg(dataset)}`).then(
      (l) => {
        setList(l);
        setErr(null);
      },
      setErr,
    );
  }, [dataset]);
  useEffect(() => {
    setList(null);
    setEditing(null);
    load();
  }, [load]);

  const remove = async (d: DerivedColumn) => {
    if (!confirm(`Delete the derived column ${d.alias}? Queries that use it stop working.`)) return;
    try {
      await hc.del(`/1/derived_columns/${seg(dataset)}/${seg(d.id)}`);
      load();
    } catch (e) {
      setErr(e);
    }
  };

  return (
    <div className="config" data-testid="derived-page">
      <section className="card">
        <div className="inline" style={{ justifyContent: "space-between" }}>
          <h2>Derived columns</h2>
          <div className="inline">
            <DatasetSelect value={dataset} datasets={datasets} allLabel="Every dataset (__all__)" onChange={(v) => navigate("/derived-columns?dataset=" + seg(v))} />
            {editing === null && (
              <button type="button" onClick={() => setEditing("new")}>New derived column</button>
            )}
          </div>
        </div>
        <p className="muted">
          A derived column is computed from each event's fields when a query or a trigger names its alias, as in Honeycomb:{" "}
          <code>IF(EQUALS($status_code, 500), 1, 0)</code>, <code>DIV($duration_ms, 1000)</code>. Those made under{" "}
          <i>Every dataset</i> are columns of each dataset of the environment; a dataset's own one of the same alias comes first.
        </p>
        {editing !== null && (
          <DerivedForm
            key={editing === "new" ? "new" : editing.id}
            dataset={dataset}
            column={editing === "new" ? null : editing}
            onDone={() => {
              setEditing(null);
              load();
            }}
            onCancel={() => setEditing(null)}
          />
        )}
        <ErrorBox error={err} />
        {list && list.length === 0 && <p className="muted">No derived columns here.</p>}
        {list && list.length > 0 && (
          <table className="grid" data-testid="derived-columns">
            <thead>
              <tr>
                <th>Alias</th>
                <th>Expression</th>
                <th>Description</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr key={d.id} data-derived-id={d.id} data-alias={d.alias}>
                  <td><b>{d.alias}</b></td>
                  <td><code style={{ whiteSpace: "pre-wrap" }}>{d.expression}</code></td>
                  <td>{d.description}</td>
                  <td style={{ whiteSpace: "nowrap" }}>
                    <button type="button" className="small" onClick={() => setEditing(d)}>Edit</button>{" "}
                    <button type="button" className="small danger" onClick={() => remove(d)}>Delete</button>
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

function DerivedForm({ dataset, column, onDone, onCancel }: { dataset: string; column: DerivedColumn | null; onDone: () => void; onCancel: () => void }) {
  const [alias, setAlias] = useState(column?.alias ?? "");
  const [expression, setExpression] = useState(column?.expression ?? "");
  const [description, setDescription] = useState(column?.description ?? "");
  // The error and the expression it is about (the text may change after).
  const [err, setErr] = useState<{ error: unknown; expr: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    const body = { alias, expression, description };
    try {
      if (column) await hc.put(`/1/derived_columns/${seg(dataset)}/${seg(column.id)}`, body);
      else await hc.post(`/1/derived_columns/${seg(dataset)}`, body);
      onDone();
    } catch (e) {
      setErr({ error: e, expr: expression });
    } finally {
      setBusy(false);
    }
  };
  const exprProblem = fieldError(err?.error, "expression");
  return (
    <form className="card" onSubmit={save} data-testid="derived-form" noValidate>
      <h3>{column ? `Edit ${column.alias}` : "New derived column"}</h3>
      <div className="form-grid">
        <FieldRow label="Alias" problem={fieldError(err?.error, "alias")}>
          <input className="wide" name="alias" aria-label="Alias" value={alias} onChange={(e) => setAlias(e.target.value)} autoComplete="off" />
        </FieldRow>
        <span className="lbl">Expression</span>
        <div className={"row" + (exprProblem ? " invalid" : "")}>
          <textarea name="expression" aria-label="Expression" rows={3} spellCheck={false} value={expression} onChange={(e) => setExpression(e.target.value)} style={{ fontFamily: "ui-monospace, monospace" }} />
        </div>
        <FieldRow label="Description" problem={fieldError(err?.error, "description")}>
          <input className="wide" name="description" aria-label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </FieldRow>
      </div>
      {err && (exprProblem ? <PositionError expr={err.expr} error={err.error} testId="expression-error" flat /> : <ErrorBox error={err.error} />)}
      <div className="inline">
        <button type="submit" disabled={busy}>{column ? "Save derived column" : "Create derived column"}</button>
        <button type="button" className="link" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
