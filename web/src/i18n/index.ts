// i18next with the console's two languages; the choice follows the
// browser at first and is then the user's (kept for the session only, as
// nothing else is stored).
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./en";
import { zhCN } from "./zh-CN";

export const languages = [
  { code: "zh-CN", label: "简体中文" },
  { code: "en", label: "English" },
] as const;

export function initialLanguage(navigatorLanguages: readonly string[]): string {
  for (const l of navigatorLanguages) {
    if (l.toLowerCase().startsWith("zh")) return "zh-CN";
    if (l.toLowerCase().startsWith("en")) return "en";
  }
  return "zh-CN";
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, "zh-CN": { translation: zhCN } },
  lng: initialLanguage(typeof navigator === "undefined" ? [] : navigator.languages),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes
});

i18n.on("languageChanged", (lng) => {
  if (typeof document !== "undefined") document.documentElement.lang = lng;
});

export default i18n;
