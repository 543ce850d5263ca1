import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";

/** Shows an API error as the person can act on it: message and bad fields. */
export function ErrorBanner({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div role="alert" className="error">
      <strong>{e?.conflict ? t("customer.conflict") : (error as Error).message || t("common.error")}</strong>
      {e && e.violations.length > 0 && (
        <ul>
          {e.violations.map((v) => (
            <li key={v.field}>
              <code>{v.field}</code>: {v.description}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
