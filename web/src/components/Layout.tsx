import { NavLink, Outlet } from "react-router";
import { useTranslation } from "react-i18next";
import { languages } from "../i18n";
import { signOut, useSession } from "../auth/session";
import { useQueryClient } from "@tanstack/react-query";

export function Layout() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const qc = useQueryClient();
  return (
    <>
      <a className="skip" href="#main">
        {t("app.skip")}
      </a>
      <header className="top">
        <span className="brand">{t("app.title")}</span>
        <nav aria-label="main">
          <NavLink to="/customers">{t("nav.customers")}</NavLink>
          <NavLink to="/my-day">{t("nav.myDay")}</NavLink>
          <NavLink to="/desk">{t("nav.desk")}</NavLink>
          <NavLink to="/analysis">{t("nav.analysis")}</NavLink>
        </nav>
        <span className="spacer" />
        <label>
          <span className="sr-only">{t("app.language")}</span>
          <select aria-label={t("app.language")} value={i18n.language} onChange={(e) => void i18n.changeLanguage(e.target.value)} data-testid="language">
            {languages.map((l) => (
              <option key={l.code} value={l.code}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
        {session && (
          <>
            <span className="muted who">{t("app.signedInAs", { subject: session.subject, roles: session.roles.map((r) => t(`roles.${r}`)).join(", ") })}</span>
            <button
              type="button"
              className="secondary small"
              onClick={() => {
                qc.clear();
                signOut();
              }}
            >
              {t("app.signOut")}
            </button>
          </>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
