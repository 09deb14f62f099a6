// The "which data" control of the X-Ray views (service map, X-Ray traces),
// kept in the URL as ?doors=.
import { DOORS, type Doors } from "./api";
import { navigate, useLocation } from "./router";

const LABELS: Record<Doors, [string, string]> = {
  xray: ["X-Ray", "What was sent to X-Ray's doors (the X-Ray daemon, PutTraceSegments): what AWS X-Ray would show."],
  honeycomb: ["OpenTelemetry (tracecomb)", "tracecomb's own view: the same X-Ray views computed over the OpenTelemetry data sent to Honeycomb's doors."],
  "honeycomb,xray": ["both (tracecomb)", "tracecomb's own view: X-Ray and OpenTelemetry data joined."],
};

export function useDoors(): [Doors, (d: Doors) => void] {
  const loc = useLocation();
  const v = loc.params.get("doors") as Doors | null;
  const doors = v && DOORS.includes(v) ? v : "xray";
  const set = (d: Doors) => {
    const p = new URLSearchParams(loc.params);
    if (d === "xray") p.delete("doors");
    else p.set("doors", d);
    const q = p.toString();
    navigate(loc.path + (q ? "?" + q : ""), true);
  };
  return [doors, set];
}

export function DoorsPicker({ doors, onChange }: { doors: Doors; onChange: (d: Doors) => void }) {
  return (
    <div className="doors" role="radiogroup" aria-label="Data" data-testid="doors" data-doors={doors}>
      <span className="muted">Data:</span>
      {DOORS.map((d) => (
        <label key={d} title={LABELS[d][1]} className={d === doors ? "active" : ""}>
          <input type="radio" name="doors" value={d} checked={d === doors} onChange={() => onChange(d)} />
          {LABELS[d][0]}
        </label>
      ))}
    </div>
  );
}
