// The typed REST client: openapi-fetch over the types generated from the
// gateway's OpenAPI document (schema.ts), with the bearer token of the
// session and errors turned into ApiError.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { getToken, signOut } from "../auth/session";

export type Schemas = components["schemas"];
export type Customer = Schemas["v1Customer"];
export type FollowUp = Schemas["v1FollowUp"];
export type Ticket = Schemas["v1Ticket"];
export type Interaction = Schemas["v1Interaction"];

export const api = createClient<paths>({ baseUrl: "" });

const bearer: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or revoked token: back to the sign-in page.
    if (response.status === 401) signOut();
    return response;
  },
};
api.use(bearer);

export interface FieldViolation {
  field: string;
  description: string;
}

/** A google.rpc.Status answer of the API. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly violations: FieldViolation[];
  constructor(status: number, message: string, reason: string, violations: FieldViolation[]) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.violations = violations;
  }
  /** The record changed since it was read (etag mismatch). */
  get conflict(): boolean {
    return this.status === 409;
  }
}

interface StatusBody {
  message?: string;
  details?: Array<{ "@type"?: string; reason?: string; fieldViolations?: FieldViolation[] }>;
}

export function toApiError(status: number, body: unknown): ApiError {
  const s = (body ?? {}) as StatusBody;
  let reason = "";
  const violations: FieldViolation[] = [];
  for (const d of s.details ?? []) {
    if (d["@type"]?.endsWith("google.rpc.ErrorInfo")) reason = d.reason ?? "";
    if (d["@type"]?.endsWith("google.rpc.BadRequest")) violations.push(...(d.fieldViolations ?? []));
  }
  return new ApiError(status, s.message || `HTTP ${status}`, reason, violations);
}

/** Returns the data of an openapi-fetch answer or throws its ApiError. */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok || data === undefined) throw toApiError(response.status, error);
  return data;
}

/** The last segment of a resource name ("customers/abc" → "abc"). */
export function idOf(name: string | undefined): string {
  return (name ?? "").split("/").pop() ?? "";
}

export function requestId(): string {
  return crypto.randomUUID();
}
