// Server-streaming REST answers: grpc-gateway writes one JSON object per
// line, {"result": …} per message or {"error": status} when the stream fails.
import { toApiError } from "../api/client";

export function parseStream<T>(text: string, status = 200): T[] {
  const out: T[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as { result?: T; error?: unknown };
    if (m.error) throw toApiError(status >= 400 ? status : 500, m.error);
    if (m.result) out.push(m.result);
  }
  return out;
}
