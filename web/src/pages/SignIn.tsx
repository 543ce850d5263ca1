import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { signIn } from "../auth/session";
import { toApiError } from "../api/client";
import { ErrorBanner } from "../components/ErrorBanner";
import { languages } from "../i18n";
import { beginSignIn, completeSignIn } from "../auth/oidc";

/** Where the identity provider sends the browser back: the console itself. */
const redirectUri = () => `${window.location.origin}/console/`;

interface ConsoleConfig {
  devSignIn: boolean;
  oidc: { issuer: string; clientId: string };
}

const roles = ["admin", "manager", "agent", "analyst", "viewer"] as const;

export function SignIn() {
  const { t, i18n } = useTranslation();
  const config = useQuery({
    queryKey: ["console-config"],
    queryFn: async () => (await (await fetch("/console/config.json")).json()) as ConsoleConfig,
  });
  const [subject, setSubject] = useState("alice");
  const [role, setRole] = useState<string>("manager");
  const [error, setError] = useState<unknown>(null);
  const oidc = config.data?.oidc.issuer ? config.data.oidc : null;

  // Back from the identity provider: trade the code for a token, then
  // drop the code from the address bar.
  useEffect(() => {
    if (!oidc) return;
    const here = new URL(window.location.href);
    completeSignIn(oidc, redirectUri(), here)
      .then((s) => {
        if (!s) return;
        window.history.replaceState(null, "", "/console/");
        signIn(s);
      })
      .catch(setError);
  }, [oidc]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    const res = await fetch("/console/devSignIn", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ subject, role }),
    });
    const body = await res.json();
    if (!res.ok) {
      setError(toApiError(res.status, body));
      return;
    }
    signIn({ token: body.token, subject: body.subject, roles: body.roles, expireTime: new Date(body.expireTime) });
  }

  return (
    <main id="main" className="signin">
      <h1>{t("app.title")}</h1>
      <select aria-label={t("app.language")} value={i18n.language} onChange={(e) => void i18n.changeLanguage(e.target.value)} data-testid="language">
        {languages.map((l) => (
          <option key={l.code} value={l.code}>
            {l.label}
          </option>
        ))}
      </select>
      <h2>{t("signIn.title")}</h2>
      {config.data?.devSignIn && (
        <form onSubmit={submit} className="card">
          <h3>{t("signIn.dev")}</h3>
          <p className="muted">{t("signIn.devHint")}</p>
          <label>
            {t("signIn.subject")}
            <input name="subject" value={subject} onChange={(e) => setSubject(e.target.value)} required maxLength={128} />
          </label>
          <label>
            {t("signIn.role")}
            <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {t(`roles.${r}`)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">{t("signIn.submit")}</button>
          <ErrorBanner error={error} />
        </form>
      )}
      {oidc && (
        <div className="card">
          <button type="button" onClick={() => beginSignIn(oidc, redirectUri()).catch(setError)}>
            {t("signIn.oidc")}
          </button>
          <p className="muted">{oidc.issuer}</p>
          {!config.data?.devSignIn && <ErrorBanner error={error} />}
        </div>
      )}
      {config.data && !config.data.devSignIn && !oidc && <p className="error">{t("signIn.none")}</p>}
    </main>
  );
}
