// Drives the explorer in headless Chromium for tests/tests/explorer.rs and prints, as one JSON
// object on stdout, what the pages showed. The Rust test decides pass or fail.
// Usage: node drive.mjs <plan.json>
//   plan: { base, tampered_base, org, key_id, key_file, case_id, dashboard_now, entry_index,
//           screenshots, chromium }
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const TIMEOUT = 60_000;

const browser = await chromium.launch({
  executablePath: plan.chromium || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const result = { console_errors: [], requests_outside: [] };

async function signedIn(base) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (m) => { if (m.type() === "error") result.console_errors.push(m.text()); });
  page.on("pageerror", (e) => result.console_errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) result.requests_outside.push(r.url()); });
  await page.goto(base + "/");
  result.landed = page.url();
  await page.fill("#org", plan.org);
  await page.fill("#keyid", plan.key_id);
  await page.setInputFiles("#keyfile", plan.key_file);
  await page.click("#signin");
  await page.waitForFunction(() => document.body.dataset.ready === "done" && document.body.dataset.page === "overview");
  return { context, page };
}

async function open(page, hash, name) {
  await page.evaluate((h) => { document.body.dataset.ready = "navigating"; location.hash = h; }, hash);
  await page.waitForFunction((n) => document.body.dataset.page === n && document.body.dataset.ready === "done", name);
}

async function shot(page, file) {
  const path = join(plan.screenshots, file);
  await page.screenshot({ path, fullPage: true });
  return path;
}

try {
  const { context, page } = await signedIn(plan.base);
  result.shots = [];

  // Overview: the height and the members.
  await page.waitForSelector("#ov-height");
  result.height = Number(await page.textContent("#ov-height"));
  result.rate = await page.textContent("#ov-rate");
  result.members = await page.$$eval(".member-row", (rows) => rows.map((r) => r.dataset.node));
  result.cosigners = await page.$eval("#ov-cosigners", (e) => e.textContent).catch(() => null);
  // The title's logo: drawn (an inline SVG of some size), not a font glyph.
  result.logo = await page.evaluate(() => {
    const brand = document.querySelector("header .brand");
    const svg = brand.querySelector("svg.logo");
    const r = svg ? svg.getBoundingClientRect() : null;
    return { text: brand.textContent, svg_width: r ? r.width : 0, svg_height: r ? r.height : 0 };
  });
  result.shots.push(await shot(page, "overview.png"));

  // Case page: the stage path.
  await open(page, "#/case/" + encodeURIComponent(plan.case_id), "case");
  result.case_stages = await page.$$eval(".stage-row", (rows) => rows.map((r) => r.dataset.stage));
  result.case_handoffs = await page.$$eval(".handoff-row", (rows) => rows.map((r) => r.dataset.handoff));
  result.case_digests = await page.$$eval(".handoff-row .mono", (cells) => cells.map((c) => c.textContent));
  // The stage path's labels overlap no bar and no other label: every pair whose boxes intersect.
  result.timeline_overlaps = await page.evaluate(() => {
    const svg = document.getElementById("case-timeline");
    if (!svg) return ["no #case-timeline"];
    const box = (e) => e.getBoundingClientRect();
    const cut = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const bars = [...svg.querySelectorAll("rect")];
    const texts = [...svg.querySelectorAll("text")];
    const out = [];
    for (const [k, text] of texts.entries()) {
      for (const [i, bar] of bars.entries()) if (cut(box(text), box(bar))) out.push(`"${text.textContent}" over bar ${i}`);
      for (const other of texts.slice(k + 1)) if (cut(box(text), box(other))) out.push(`"${text.textContent}" over "${other.textContent}"`);
    }
    return out;
  });
  result.timeline_bars = await page.$$eval("#case-timeline rect", (r) => r.length);
  result.shots.push(await shot(page, "case.png"));

  // Supervision dashboard at the plan's "now".
  await open(page, "#/dashboard?now=" + plan.dashboard_now, "dashboard");
  result.overdue_handoffs = await page.$$eval(".overdue-row", (rows) => rows.map((r) => r.dataset.handoff));
  result.dashboard_overdue_kpi = Number(await page.textContent("#dash-overdue"));
  result.ranking_rows = await page.$$eval(".rank-row", (rows) => rows.length);
  result.charts = await page.$$eval("#page svg", (svgs) => svgs.length);
  result.shots.push(await shot(page, "dashboard.png"));

  // The same page in English, then on a wall display.
  const before = await page.textContent("nav a[data-page=dashboard]");
  await page.click("#lang");
  await page.waitForFunction((b) => document.querySelector("nav a[data-page=dashboard]").textContent !== b, before);
  await page.waitForFunction(() => document.body.dataset.ready === "done");
  result.nav_labels = [before, await page.textContent("nav a[data-page=dashboard]")];
  result.shots.push(await shot(page, "dashboard-en.png"));
  await page.click("#lang");
  await page.waitForFunction(() => document.body.dataset.ready === "done");
  await page.setViewportSize({ width: 2560, height: 1440 });
  await page.click("#wall");
  result.shots.push(await shot(page, "dashboard-wall.png"));
  await page.click("#wall");
  await page.setViewportSize({ width: 1440, height: 900 });

  // Entry page: verified in the browser.
  await open(page, "#/entry/" + plan.entry_index, "entry");
  result.entry_status = await page.getAttribute("#verify-result", "data-status");
  result.entry_verdict = await page.textContent("#verify-result");
  result.entry_steps = await page.$$eval("#verify-steps li", (li) => li.map((x) => x.textContent));
  result.entry_hash = await page.textContent("#entry-hash");
  result.shots.push(await shot(page, "entry.png"));
  await context.close();

  // The entry page through a proxy that flips a byte of the proof in transit.
  const t = await signedIn(plan.tampered_base);
  await open(t.page, "#/entry/" + plan.entry_index, "entry");
  result.tampered_status = await t.page.getAttribute("#verify-result", "data-status");
  result.tampered_verdict = await t.page.textContent("#verify-result");
  result.tampered_steps = await t.page.$$eval("#verify-steps li", (li) => li.map((x) => x.textContent));
  result.shots.push(await shot(t.page, "entry-tampered.png"));
  // The same in English.
  await t.page.click("#lang");
  await t.page.waitForFunction(() => document.body.dataset.ready === "done" && document.getElementById("verify-result").dataset.status === "failed");
  result.tampered_verdict_en = await t.page.textContent("#verify-result");
  result.shots.push(await shot(t.page, "entry-tampered-en.png"));
  await t.context.close();
} catch (e) {
  result.error = String(e && e.stack || e);
  for (const c of browser.contexts()) for (const p of c.pages()) {
    result.failed_page = await p.evaluate(() => [location.href, document.getElementById("signin-status").textContent, document.body.innerText.slice(0, 2000)]).catch(() => null);
    await p.screenshot({ path: join(plan.screenshots, "failure.png"), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
