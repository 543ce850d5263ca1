import { afterEach, describe, expect, it, vi } from "vitest";
import { challengeOf, claimsOf, completeSignIn, rolesOf } from "./oidc";

class MemoryStorage {
  private m = new Map<string, string>();
  get length() { return this.m.size; }
  clear() { this.m.clear(); }
  getItem(k: string) { return this.m.get(k) ?? null; }
  key(i: number) { return [...this.m.keys()][i] ?? null; }
  removeItem(k: string) { this.m.delete(k); }
  setItem(k: string, v: string) { this.m.set(k, v); }
}

const cfg = { issuer: "https://idp.example/realms/kehu", clientId: "kehu-console" };
const redirect = "https://crm.example/console/";
const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");

afterEach(() => vi.unstubAllGlobals());

describe("OIDC with PKCE", () => {
  it("derives the S256 challenge of RFC 7636's example", async () => {
    expect(await challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });
  it("reads the claims of a token, UTF-8 included", () => {
    const jwt = `${b64({ alg: "RS256" })}.${btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify({ sub: "李雷", roles: ["agent"] }))))}.sig`;
    expect(claimsOf(jwt)).toEqual({ sub: "李雷", roles: ["agent"] });
  });
  it("refuses a redirect whose state this browser did not send", async () => {
    const storage = new MemoryStorage();
    storage.setItem("kehu.oidc.pending", JSON.stringify({ verifier: "v", state: "mine" }));
    await expect(completeSignIn(cfg, redirect, new URL(`${redirect}?code=c&state=forged`), storage)).rejects.toThrow(/state does not match/);
    expect(storage.length).toBe(0);
  });
  it("trades the code and the verifier for a token kept in the session", async () => {
    const storage = new MemoryStorage();
    storage.setItem("kehu.oidc.pending", JSON.stringify({ verifier: "the-verifier", state: "s1" }));
    const token = `${b64({ alg: "RS256" })}.${b64({ sub: "alice", roles: ["manager"], exp: 4102444800 })}.sig`;
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith("/.well-known/openid-configuration")) return Response.json({ authorization_endpoint: "https://idp.example/auth", token_endpoint: "https://idp.example/token" });
      const form = new URLSearchParams(String(init?.body));
      expect(form.get("code_verifier")).toBe("the-verifier");
      expect(form.get("code")).toBe("c1");
      expect(form.get("redirect_uri")).toBe(redirect);
      return Response.json({ access_token: token, expires_in: 300 });
    });
    vi.stubGlobal("fetch", fetch);
    const s = await completeSignIn(cfg, redirect, new URL(`${redirect}?code=c1&state=s1`), storage);
    expect(s).toEqual({ token, subject: "alice", roles: ["manager"], expireTime: new Date(4102444800 * 1000) });
    expect(storage.length).toBe(0);
  });
  it("reads the roles from the configured claim, as the services do", () => {
    const keycloak = { roles: ["admin"], realm_access: { roles: ["offline_access", "Manager"] } };
    expect(rolesOf(keycloak)).toEqual(["admin"]);
    expect(rolesOf(keycloak, "realm_access.roles")).toEqual(["manager"]);
    expect(rolesOf({ "https://kehu.example/roles": ["agent", "agent"] }, "https://kehu.example/roles")).toEqual(["agent"]);
    expect(rolesOf({ groups: "analyst everyone" }, "groups")).toEqual(["analyst"]);
    expect(rolesOf({ groups: 3 }, "groups")).toEqual([]);
  });
  it("is no redirect without a code", async () => {
    expect(await completeSignIn(cfg, redirect, new URL(redirect), new MemoryStorage())).toBeNull();
  });
});
