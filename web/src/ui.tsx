// Small shared pieces: error box, formatting, colours.
import { useState } from "react";
import { APIError } from "./api";

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  let msg = String(error);
  if (error instanceof APIError) msg = (error.code ? error.code + ": " : "") + error.message;
  else if (error instanceof Error) msg = error.message;
  return (
    <div className="error" role="alert">
      {msg}
    </div>
  );
}

export function fmtDuration(ms: number): string {
  if (!isFinite(ms)) return "–";
  if (ms < 1) return (ms * 1000).toFixed(0) + "µs";
  if (ms < 1000) return (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + "ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + "s";
  return (ms / 60000).toFixed(1) + "m";
}

export function fmtAgo(iso: string | null | undefined): string {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (!isFinite(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#4f46e5", "#ea580c", "#0d9488", "#7c3aed", "#ca8a04"];

// colorFor gives every service name a stable colour.
export function colorFor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length];
}

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="small"
      onClick={() => {
        navigator.clipboard?.writeText(text).then(() => setDone(true), () => setDone(false));
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? "Copied" : "Copy"}
    </button>
  );
}
