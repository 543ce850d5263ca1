// Browser end-to-end tests of the web console: headless Chromium driven by
// playwright-core against a running suite with the demo data
// (KEHU_CONSOLE_URL, e.g. http://127.0.0.1:8080/console/). Run by
// TestConsoleInBrowser (e2e/console_test.go) under `make test-browser`.
// Screenshots go to e2e/artifacts (git-ignored).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { chromium } from "playwright-core";

const base = process.env.KEHU_CONSOLE_URL ?? "http://127.0.0.1:8080/console/";
const origin = new URL(base).origin;
const artifacts = new URL("./artifacts/", import.meta.url).pathname;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

let browser, context, page;
const problems = [];

before(async () => {
  await mkdir(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  // Chinese first, as most of Kehu's users read it.
  context = await browser.newContext({ locale: "zh-CN", timezoneId: "Asia/Shanghai", viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  // A CSP violation or an uncaught error fails the run: the console must
  // work under its own Content-Security-Policy.
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(m.text());
  });
  // API answers are checked by status: 404 (nothing scored yet) and 409
  // (the conflict provoked below) are expected, anything else 4xx/5xx not.
  page.on("response", async (r) => {
    if (r.status() >= 400 && ![401, 404, 409].includes(r.status())) problems.push(`${r.status()} ${r.request().method()} ${r.url()}: ${await r.text().catch(() => "")}`);
  });
  page.on("pageerror", (e) => problems.push(String(e)));
});

after(async () => {
  await browser?.close();
});

const shot = (name) => page.screenshot({ path: `${artifacts}${name}.png` });

/** A test that leaves a screenshot of the page when it fails. */
function scenario(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      await shot(`failed-${name.replace(/\W+/g, "-")}`).catch(() => {});
      throw e;
    }
  });
}

/** A token of the development sign-in, for changing data behind the page's back. */
async function token(subject, role) {
  const res = await fetch(`${base}devSignIn`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ subject, role }) });
  assert.equal(res.status, 200);
  return (await res.json()).token;
}

scenario("sign-in with the development page, in Chinese", async () => {
  const res = await page.goto(base);
  assert.match(res.headers()["content-security-policy"], /script-src 'self'/);
  await page.getByRole("heading", { name: "登录", exact: true }).waitFor();
  await page.locator('input[name="subject"]').fill("alice");
  await page.locator('select[name="role"]').selectOption("manager");
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await page.getByRole("link", { name: "我的一天" }).waitFor();
  await page.getByText("当前用户 alice").waitFor();
  await shot("01-signed-in");
  // Nothing of the session is left where a script could read it later.
  const stored = await page.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length);
  assert.equal(stored, 0);
});

let customerPath;

scenario("create a customer, edit it, and see an etag conflict as such", async () => {
  await page.getByRole("link", { name: "客户", exact: true }).click();
  await page.getByRole("button", { name: "新建客户" }).click();
  await page.locator('input[name="displayName"]').fill("浏览器测试客户");
  await page.locator('input[name="email"]').fill("browser.e2e@example.cn");
  await page.locator('input[name="company"]').fill("测试公司");
  await page.getByRole("button", { name: "创建" }).click();
  await page.getByTestId("customer-name").filter({ hasText: "浏览器测试客户" }).waitFor();
  customerPath = new URL(page.url()).pathname;
  const id = customerPath.split("/").pop();

  await page.getByRole("button", { name: "编辑资料" }).click();
  await page.locator('input[name="company"]').fill("客户测试有限公司");
  await page.getByRole("button", { name: "保存" }).click();
  await page.getByText("客户测试有限公司").waitFor();

  // Someone else changes the customer while this page has it open.
  await page.getByRole("button", { name: "编辑资料" }).click();
  const other = await fetch(`${origin}/v1/customers/${id}`, {
    method: "PATCH",
    headers: { Authorization: `Bearer ${await token("bob", "manager")}`, "Content-Type": "application/json" },
    body: JSON.stringify({ title: "采购经理" }),
  });
  assert.equal(other.status, 200, await other.text());
  await page.locator('input[name="company"]').fill("不应覆盖");
  await page.getByRole("button", { name: "保存" }).click();
  await page.getByRole("alert").filter({ hasText: "其他人已修改了该客户" }).waitFor();
  await shot("02-etag-conflict");
  await page.getByRole("button", { name: "重新加载" }).click();
  await page.getByText("客户测试有限公司").waitFor();
  const now = await (await fetch(`${origin}/v1/customers/${id}`, { headers: { Authorization: `Bearer ${await token("bob", "manager")}` } })).json();
  assert.equal(now.company, "客户测试有限公司", "the conflicting save must not have been written");
  assert.equal(now.title, "采购经理");
});

scenario("plan a follow-up, then log the visit from My day", async () => {
  assert.ok(customerPath, "needs the customer of the previous test");
  // Two hours from now, as the datetime-local field takes it (Shanghai time).
  const due = new Date(Date.now() + 2 * 3600_000 + 8 * 3600_000).toISOString().slice(0, 16);
  await page.locator('input[name="purpose"]').fill("回访：新品试用反馈");
  await page.locator('input[name="due"]').fill(due);
  await page.getByRole("button", { name: "计划回访" }).click();
  await page.getByTestId("followups").getByText("回访：新品试用反馈").waitFor();

  await page.getByRole("link", { name: "我的一天" }).click();
  const item = page.getByTestId("agenda-item").filter({ hasText: "回访：新品试用反馈" });
  await item.waitFor();
  await shot("03-my-day");
  await item.getByRole("button", { name: "记录拜访" }).click();
  await item.locator('input[name="note"]').fill("客户对新品满意，计划下月复购");
  await item.getByRole("button", { name: "保存" }).click();
  await item.waitFor({ state: "detached" });

  await page.goto(origin + customerPath); // a deep link: signs in again
  await page.locator('input[name="subject"]').fill("alice");
  await page.locator('select[name="role"]').selectOption("manager");
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await page.getByTestId("timeline").getByText("客户对新品满意，计划下月复购").waitFor();
  await page.getByTestId("followups").getByText("已完成").waitFor();
});

scenario("resolve a ticket with its root cause", async () => {
  await page.getByRole("link", { name: "服务台" }).click();
  const first = page.getByTestId("tickets").locator("tbody a").first();
  const subject = await first.innerText();
  await first.click();
  await page.getByTestId("ticket-subject").filter({ hasText: subject }).waitFor();
  await page.locator('textarea[name="comment"]').fill("已联系客户，问题已定位");
  await page.getByRole("button", { name: "添加评论" }).click();
  await page.locator(".comments li.internal").filter({ hasText: "已联系客户" }).waitFor();
  // Work starts (a new ticket can only be opened), then it is resolved.
  if ((await page.getByTestId("ticket-status").innerText()).includes("新建")) {
    await page.locator('select[name="status"]').selectOption("STATUS_OPEN");
    await page.getByRole("button", { name: "应用" }).click();
    await page.getByTestId("ticket-status").filter({ hasText: "处理中" }).waitFor();
  }
  await page.locator('select[name="status"]').selectOption("STATUS_RESOLVED");
  await page.locator('input[name="rootCause"]').fill("配送延误");
  await page.locator('textarea[name="resolutionSummary"]').fill("补发并致歉");
  await page.getByRole("button", { name: "应用" }).click();
  await page.getByTestId("ticket-status").filter({ hasText: "已解决" }).waitFor();
  await shot("04-ticket-resolved");
  // The moves offered are the ones the service desk names for the ticket
  // (the console keeps no copy of the workflow).
  const id = new URL(page.url()).pathname.split("/").pop();
  const api = await (await fetch(`${origin}/v1/tickets/${id}`, { headers: { Authorization: `Bearer ${await token("alice", "manager")}` } })).json();
  assert.deepEqual(api.nextStatuses, ["STATUS_CLOSED", "STATUS_OPEN"]);
  const offered = await page.locator('select[name="status"] option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
  assert.deepEqual(offered, api.nextStatuses);
});

scenario("a viewer is offered no status change; survey answers in the desk", async () => {
  const viewer = await context.browser().newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  const p = await viewer.newPage();
  try {
    await p.goto(base);
    await p.locator('input[name="subject"]').fill("vera");
    await p.locator('select[name="role"]').selectOption("viewer");
    await p.getByRole("button", { name: "登录", exact: true }).click();
    await p.getByRole("link", { name: "服务台" }).click();
    await p.getByTestId("tickets").locator("tbody a").first().click();
    await p.getByTestId("no-moves").waitFor();
    assert.equal(await p.locator('select[name="status"]').count(), 0);
  } finally {
    await viewer.close();
  }
  // The demo customers answered surveys on resolved tickets.
  await page.getByRole("link", { name: "服务台", exact: true }).click();
  await page.getByLabel("仅显示未关闭工单").uncheck();
  const answered = page.getByTestId("tickets").locator("tbody tr").filter({ has: page.locator("td .sla", { hasText: /^\d+\/(5|10)$/ }) }).first();
  await answered.waitFor();
  await answered.locator("a").first().click();
  await page.getByTestId("survey-result").getByText("Demo answer").waitFor();
  await shot("05-survey-result");
});

scenario("duplicates: dry-run diff, merge and unmerge in the customer 360", async () => {
  const auth = { Authorization: `Bearer ${await token("alice", "manager")}`, "Content-Type": "application/json" };
  const create = async (body, query = "") => {
    const r = await fetch(`${origin}/v1/customers${query}`, { method: "POST", headers: auth, body: JSON.stringify(body) });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return JSON.parse(text).name.split("/").pop();
  };
  const survivor = await create({ displayName: "重复测试 王芳", emails: ["dup.e2e@example.cn"], company: "合并测试公司" });
  const twin = await create({ displayName: "重复测试 王芳", emails: ["dup.e2e@example.cn", "wf.e2e@example.cn"], title: "采购总监" }, "?allowDuplicates=true");
  await page.goto(`${base}customers/${survivor}`);
  // The app renders after the load event: wait for it to show the sign-in
  // or the page before asking which one it is.
  await page.locator('input[name="subject"]').or(page.getByRole("link", { name: "我的一天" })).first().waitFor();
  if (await page.locator('input[name="subject"]').count()) {
    await page.locator('input[name="subject"]').fill("alice");
    await page.locator('select[name="role"]').selectOption("manager");
    await page.getByRole("button", { name: "登录", exact: true }).click();
  }
  const panel = page.getByTestId("duplicates");
  await panel.getByText("邮箱相同").waitFor();
  await panel.locator(`input[value="customers/${twin}"]`).first().check();
  await panel.getByRole("button", { name: "预览合并" }).click();
  const diff = page.getByTestId("merge-diff");
  await diff.getByRole("cell", { name: "采购总监" }).waitFor();
  await diff.getByRole("cell", { name: "dup.e2e@example.cn, wf.e2e@example.cn" }).waitFor();
  await shot("06-merge-dry-run");
  // The dry run changed nothing.
  const before = await (await fetch(`${origin}/v1/customers/${twin}`, { headers: auth })).json();
  assert.equal(before.name, `customers/${twin}`);
  await panel.getByRole("button", { name: /将 1 位客户合并到此客户/ }).click();
  await page.getByTestId("merged-customers").getByText(twin).waitFor();
  const merged = await (await fetch(`${origin}/v1/customers/${twin}`, { headers: auth })).json();
  assert.equal(merged.name, `customers/${survivor}`, "the merged customer resolves to the survivor");

  await page.getByTestId("merged-customers").getByRole("button", { name: "撤销合并" }).click();
  await page.getByTestId("customer-name").filter({ hasText: "重复测试 王芳" }).waitFor();
  await page.waitForURL(new RegExp(`/customers/${twin}$`));
  const restored = await (await fetch(`${origin}/v1/customers/${twin}`, { headers: auth })).json();
  assert.equal(restored.name, `customers/${twin}`);
  assert.equal(restored.title, "采购总监");
});

scenario("customer 360 of a demo customer", async () => {
  await page.getByRole("link", { name: "客户", exact: true }).click();
  await page.getByRole("searchbox").fill("刘洋");
  await page.getByRole("button", { name: "搜索" }).click();
  await page.getByTestId("customers").getByRole("link", { name: "刘洋" }).click();
  await page.getByTestId("customer-name").filter({ hasText: "刘洋" }).waitFor();
  await page.getByTestId("rfm").waitFor();
  await page.getByTestId("timeline").locator("li").first().waitFor();
  await shot("customer-360");
});

scenario("journey map in Chinese and in English", async () => {
  await page.getByRole("link", { name: "分析" }).click();
  await page.getByRole("heading", { name: "客户旅程图" }).waitFor();
  await page.getByTestId("journey-table").locator("tbody tr td").nth(1).waitFor();
  const rows = await page.getByTestId("journey-table").locator("tbody tr").count();
  assert.ok(rows > 1, `the journey map has ${rows} rows`);
  await page.locator("canvas").first().waitFor();
  await shot("journey-map-zh-CN");

  await page.getByTestId("language").selectOption("en");
  await page.getByRole("heading", { name: "Journey map" }).waitFor();
  await page.getByRole("link", { name: "My day" }).waitFor();
  await page.getByTestId("journey-table").getByRole("columnheader", { name: "Touchpoint" }).waitFor();
  // The cells are relabelled too, not only the headers.
  await page.getByTestId("journey-table").getByRole("cell", { name: "Prospect", exact: true }).first().waitFor();
  assert.equal(await page.getByTestId("journey-table").getByRole("cell", { name: "潜在客户" }).count(), 0, "Chinese stage names left in the English table");
  await shot("journey-map-en");

  // Keyboard: the tabs move with the arrow keys.
  await page.getByRole("tab", { name: "Journey map" }).focus();
  await page.keyboard.press("ArrowRight");
  await page.getByRole("heading", { name: "Lifecycle funnel" }).waitFor();
  assert.deepEqual(problems, [], "no errors or CSP violations in the page");
});

scenario("sign-in with the identity provider (authorization code + PKCE)", async () => {
  const oidc = await context.browser().newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  const p = await oidc.newPage();
  try {
    await p.goto(base);
    await p.getByRole("button", { name: "通过身份提供方登录" }).click();
    // The provider sends the browser back with a code; the console trades it.
    await p.getByText("当前用户 oidc-user").waitFor();
    assert.equal(new URL(p.url()).search, "", "the code is left in the address bar");
    await p.getByRole("link", { name: "客户", exact: true }).click();
    await p.getByTestId("customers").locator("tbody tr").first().waitFor();
    const stored = await p.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length);
    assert.equal(stored, 0, "the PKCE verifier or a token is left in storage");
  } finally {
    await oidc.close();
  }
});

scenario("filter customers, export and assign every match", async () => {
  await page.getByTestId("language").selectOption("zh-CN");
  await page.getByRole("link", { name: "客户", exact: true }).click();
  await page.locator('input[name="filter"]').fill('tags:"vip"');
  await page.getByRole("button", { name: "应用" }).click();
  await page.getByTestId("applied-filter").filter({ hasText: 'tags:"vip"' }).waitFor();
  await page.locator('[data-testid="customer-list"][aria-busy="false"]').waitFor();
  await page.getByTestId("customers").getByRole("link", { name: "黄磊" }).waitFor();
  const rows = await page.getByTestId("customers").locator("tbody tr").count();

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "导出全部匹配客户（CSV）" }).click()]);
  const { readFile } = await import("node:fs/promises");
  const csv = await readFile(await download.path(), "utf8");
  assert.match(csv, /黄磊/);
  assert.equal(csv.trim().split("\r\n").length, rows + 1, "the export holds the header and every match");

  await page.locator('input[name="assignTo"]').fill("alice");
  await page.getByRole("button", { name: "全部分配" }).click();
  await page.getByTestId("assigned").filter({ hasText: `已分配 ${rows} 位客户` }).waitFor();
  await page.getByTestId("customers").locator("tbody tr").filter({ hasText: "黄磊" }).filter({ hasText: "alice" }).waitFor();
});

scenario("save the filter as a view, pick it again, rename and delete it", async () => {
  await page.getByRole("link", { name: "客户", exact: true }).click();
  await page.locator('input[name="filter"]').fill('tags:"vip"');
  await page.getByRole("button", { name: "应用" }).click();
  await page.getByTestId("applied-filter").filter({ hasText: 'tags:"vip"' }).waitFor();
  await page.locator('select[name="orderBy"]').selectOption("loyalty_points desc");
  await page.locator('input[name="column-emails"]').uncheck();
  await page.getByTestId("customers").getByRole("columnheader", { name: "邮箱" }).waitFor({ state: "detached" });
  await page.locator('input[name="viewName"]').fill("重要客户");
  await page.getByRole("button", { name: "保存为视图" }).click();
  const picker = page.locator('select[name="savedView"]');
  await picker.locator("option", { hasText: "重要客户" }).waitFor({ state: "attached" });

  // Back to every customer, then the view brings the filter back.
  await picker.selectOption({ label: "（全部客户）" });
  await page.getByTestId("applied-filter").waitFor({ state: "detached" });
  await page.getByTestId("customers").getByRole("columnheader", { name: "邮箱" }).waitFor();
  await picker.selectOption({ label: "重要客户" });
  await page.getByTestId("applied-filter").filter({ hasText: 'tags:"vip"' }).waitFor();
  await page.getByTestId("customers").getByRole("columnheader", { name: "邮箱" }).waitFor({ state: "detached" });
  assert.equal(await page.locator('select[name="orderBy"]').inputValue(), "loyalty_points desc");
  await page.getByTestId("customers").getByRole("link", { name: "黄磊" }).waitFor();
  await shot("12-saved-view");

  await page.locator('input[name="viewRename"]').fill("VIP 客户");
  await page.getByRole("button", { name: "重命名" }).click();
  await picker.locator("option", { hasText: "VIP 客户" }).waitFor({ state: "attached" });
  // The view is alice's own: bob does not see it.
  const bobs = await (await fetch(`${origin}/v1/savedViews`, { headers: { Authorization: `Bearer ${await token("bob", "manager")}` } })).json();
  assert.deepEqual(bobs.savedViews ?? [], []);

  await page.getByRole("button", { name: "删除视图" }).click();
  await picker.locator("option", { hasText: "VIP 客户" }).waitFor({ state: "detached" });
  await page.getByTestId("applied-filter").waitFor({ state: "detached" });
});
