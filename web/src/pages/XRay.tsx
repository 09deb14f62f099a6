import type { Session } from "../api";

export default function XRay(_: { session: Session }) {
  return <p className="muted">Coming soon.</p>;
}
