// OpenID Connect sign-in: authorization code flow with PKCE (RFC 7636) for
// a public client, against any standard identity provider. The code
// verifier and state wait in sessionStorage for the redirect back (they are
// no credential without the code, which comes once); the access token
// itself is kept in memory only, like every other token of the console.
import type { Session } from "./session";

export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** The claim holding the roles (KEHU_OIDC_ROLES_CLAIM); "roles" when absent. */
  rolesClaim?: string;
}

const kehuRoles = ["admin", "manager", "agent", "analyst", "viewer"];

/**
 * The Kehu roles in a token's claims, read as the services read them: the
 * configured claim by its whole name, else as a dotted path
 * ("realm_access.roles"); a list or a space-separated string; other
 * applications' role names ignored. Only for what the console shows: the
 * services decide what a caller may do.
 */
export function rolesOf(claims: Record<string, unknown>, claim = "roles"): string[] {
  let v: unknown = claims[claim];
  if (v === undefined) v = claim.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), claims);
  const names = typeof v === "string" ? v.split(/\s+/) : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  return [...new Set(names.map((n) => n.toLowerCase()).filter((n) => kehuRoles.includes(n)))];
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

interface Pending {
  verifier: string;
  state: string;
}

const pendingKey = "kehu.oidc.pending";

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** The S256 code challenge of a verifier. */
export async function challengeOf(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** The claims of a JWT, unverified: for showing who is signed in only (the services verify). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`identity provider discovery failed: HTTP ${res.status}`);
  return res.json();
}

/** Sends the browser to the identity provider. */
export async function beginSignIn(cfg: OidcConfig, redirectUri: string, storage: Storage = sessionStorage) {
  const d = await discover(cfg.issuer);
  const pending: Pending = { verifier: random(32), state: random(16) };
  storage.setItem(pendingKey, JSON.stringify(pending));
  const url = new URL(d.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: cfg.clientId,
    redirect_uri: redirectUri,
    scope: "openid profile",
    state: pending.state,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: "S256",
  }).toString();
  window.location.assign(url.toString());
}

/**
 * Finishes a sign-in the identity provider redirected back to `here` with,
 * or returns null when `here` is no such redirect. A state that does not
 * match the one this browser sent is refused (a forged redirect).
 */
export async function completeSignIn(cfg: OidcConfig, redirectUri: string, here: URL, storage: Storage = sessionStorage): Promise<Session | null> {
  const code = here.searchParams.get("code");
  const state = here.searchParams.get("state");
  const error = here.searchParams.get("error");
  if (error) throw new Error(`the identity provider refused the sign-in: ${error} ${here.searchParams.get("error_description") ?? ""}`.trim());
  if (!code || !state) return null;
  const raw = storage.getItem(pendingKey);
  storage.removeItem(pendingKey);
  const pending = raw ? (JSON.parse(raw) as Pending) : null;
  if (!pending || pending.state !== state) throw new Error("sign-in state does not match: start the sign-in again");
  const d = await discover(cfg.issuer);
  const res = await fetch(d.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: cfg.clientId, code_verifier: pending.verifier }),
  });
  const body = await res.json();
  if (!res.ok || !body.access_token) throw new Error(`token request failed: ${body.error ?? res.status} ${body.error_description ?? ""}`.trim());
  const claims = claimsOf(body.access_token);
  const roles = rolesOf(claims, cfg.rolesClaim || "roles");
  const expires = typeof claims.exp === "number" ? claims.exp * 1000 : Date.now() + Number(body.expires_in ?? 3600) * 1000;
  return { token: body.access_token, subject: String(claims.sub ?? ""), roles, expireTime: new Date(expires) };
}
