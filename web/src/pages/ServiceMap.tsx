import type { Session } from "../api";

export default function ServiceMap(_: { session: Session }) {
  return <p className="muted">Coming soon.</p>;
}
