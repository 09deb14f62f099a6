import type { Session } from "../api";

export default function Query(_: { session: Session }) {
  return <p className="muted">Coming soon.</p>;
}
