import { describe, expect, it } from "vitest";
import { initialLanguage } from "./index";
import { en } from "./en";
import { zhCN } from "./zh-CN";

function keys(o: object, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

describe("languages", () => {
  it("follows the browser, Chinese first", () => {
    expect(initialLanguage(["zh-TW", "en"])).toBe("zh-CN");
    expect(initialLanguage(["en-GB"])).toBe("en");
    expect(initialLanguage(["fr"])).toBe("zh-CN");
  });
  it("has every message in both languages, and translated", () => {
    expect(keys(zhCN)).toEqual(keys(en));
    const same = keys(en).filter((k) => {
      const get = (o: object) => k.split(".").reduce<unknown>((x, p) => (x as Record<string, unknown>)[p], o);
      return get(en) === get(zhCN) && !/^[—A-Z0-9 ()/%-]*$/.test(String(get(en)));
    });
    expect(same.filter((k) => !["customer.rfm", "analysis.csat"].includes(k))).toEqual([]);
  });
});
