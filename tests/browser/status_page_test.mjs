// The status page in a real browser: Debian's headless Chromium driven by
// playwright-core against a live broker with a failed run, a dead job and
// a paused schedule. It finds the failed run in the grid, opens its failed
// stage and reads the error, sees a stage's state change without a reload,
// and saves a screenshot (ARTIFACT_DIR/status-page.png).
//   node status_page_test.mjs BIN_DIR ARTIFACT_DIR
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [binDir, artifactDir] = process.argv.slice(2);
if (!binDir || !artifactDir) {
  console.error("usage: status_page_test.mjs BIN_DIR ARTIFACT_DIR");
  process.exit(2);
}
// Deadlines are generous and stretched under sanitizers (SLUICE_TIMEOUT_SCALE).
const scale = Number(process.env.SLUICE_TIMEOUT_SCALE || "1");
const DEADLINE = 30000 * scale;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-browser-"));
const children = [];
let browser = null;

function start(name, args) {
  const log = fs.openSync(path.join(dir, name + ".log"), "w");
  const child = spawn(path.join(binDir, args[0]), args.slice(1), { cwd: dir, stdio: ["ignore", log, log] });
  children.push(child);
  return child;
}

function cleanup() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { process.kill(c.pid, "SIGKILL"); } catch { /* gone */ }
    }
  }
}

async function waitFor(what, fn, timeout = DEADLINE) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// `sluice ARGS`: its output; `ok` lists the exit codes that are not a failure
// (`run --wait` exits 1 when the run failed).
function cli(endpoint, args, ok = [0]) {
  const r = spawnSync(path.join(binDir, "sluice"), ["--broker", endpoint, ...args], { cwd: dir, encoding: "utf8" });
  if (!ok.includes(r.status)) throw new Error("sluice " + args.join(" ") + ": exit " + r.status + "\n" + r.stderr);
  return r.stdout;
}

function fail(message) {
  console.error("FAILED: " + message);
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".log")))
    console.error("--- " + f + "\n" + fs.readFileSync(path.join(dir, f), "utf8").slice(-4000));
  cleanup();
  process.exit(1);
}

async function main() {
  fs.mkdirSync(artifactDir, { recursive: true });
  fs.writeFileSync(path.join(dir, "workflows.toml"), `
[workflow.breaks]
[[workflow.breaks.stage]]
name = "fetch"
kind = "test.noop"
[[workflow.breaks.stage]]
name = "transform"
kind = "test.fail"
params = { succeed_on = 99 }
max_attempts = 1
depends_on = ["fetch"]

[workflow.nightly]
schedule = "0 3 * * *"
[[workflow.nightly.stage]]
name = "only"
kind = "test.noop"

[workflow.later]
[[workflow.later.stage]]
name = "waits"
kind = "test.noop"
queue = "later"
`);
  const endpointFile = path.join(dir, "endpoint");
  start("broker", ["sluice-broker", "--endpoint", "tcp://127.0.0.1:*", "--endpoint-file", endpointFile,
    "--state", path.join(dir, "state.sqlite"), "--workflows", path.join(dir, "workflows.toml"),
    "--http", "127.0.0.1:0"]);
  const port = await waitFor("the broker's HTTP port", () => {
    const m = /HTTP on 127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(path.join(dir, "broker.log"), "utf8"));
    return m ? Number(m[1]) : 0;
  });
  const endpoint = await waitFor("the endpoint file", () =>
    fs.existsSync(endpointFile) ? fs.readFileSync(endpointFile, "utf8").trim() : "");
  start("worker", ["sluice-worker", "--broker", endpoint, "--slots", "2"]);

  // The failed run, a dead job, a paused schedule, a stage waiting on a queue no worker serves.
  const run = JSON.parse(cli(endpoint, ["--json", "run", "breaks", "--wait", "--timeout", String(DEADLINE / 1000)], [1]));
  if (run.state !== "failed") throw new Error("run breaks: " + JSON.stringify(run));
  const dead = cli(endpoint, ["submit", "test.fail", "--param-json", "succeed_on=99", "--max-attempts", "1"]).trim();
  cli(endpoint, ["pause", "nightly"]);
  const later = JSON.parse(cli(endpoint, ["--json", "run", "later"]));

  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/`);
  // A mark on the window: a reload would lose it.
  await page.evaluate(() => { window.__sluiceMark = "no reload"; });

  // The failed run in the grid, and its failed stage.
  const runCell = page.locator(`[data-workflow="breaks"] [data-run-state][title^="${run.id}:"]`);
  await runCell.waitFor({ timeout: DEADLINE });
  if ((await runCell.getAttribute("data-state")) !== "failed") throw new Error("the run is not shown failed");
  const stage = page.locator(`[data-workflow="breaks"] button.cell[data-run="${run.id}"][data-stage="transform"]`);
  if ((await stage.getAttribute("data-state")) !== "dead") throw new Error("the failed stage is not shown dead");
  await stage.click();
  const error = page.locator("#detail-attempts .error").first();
  await error.waitFor({ timeout: DEADLINE });
  const text = await error.textContent();
  if (!text.includes("succeed_on")) throw new Error("the stage's error reads: " + text);
  console.log("opened " + run.id + " transform: " + text.trim());

  // The dead job with its retry command; the paused schedule.
  const deadRow = page.locator(`#dead tr[data-job="${dead}"]`);
  await deadRow.waitFor({ timeout: DEADLINE });
  if (!(await deadRow.textContent()).includes("sluice retry " + dead)) throw new Error("no retry command for " + dead);
  const nightly = page.locator('#schedules tr[data-workflow="nightly"]');
  if (!(await nightly.textContent()).includes("paused")) throw new Error("nightly is not shown paused");

  // A state change, live: the stage waits queued until a worker serves its queue.
  const waits = page.locator(`button.cell[data-run="${later.id}"][data-stage="waits"]`);
  await page.waitForFunction((id) => {
    const c = document.querySelector(`button.cell[data-run="${id}"][data-stage="waits"]`);
    return c && c.dataset.state === "queued";
  }, later.id, { timeout: DEADLINE });
  start("worker-later", ["sluice-worker", "--broker", endpoint, "--queues", "later"]);
  await page.waitForFunction((id) => {
    const c = document.querySelector(`button.cell[data-run="${id}"][data-stage="waits"]`);
    return c && c.dataset.state === "succeeded";
  }, later.id, { timeout: DEADLINE });
  if ((await page.evaluate(() => window.__sluiceMark)) !== "no reload") throw new Error("the page reloaded");
  console.log("saw " + later.id + " waits go queued -> succeeded without a reload (" + (await waits.getAttribute("data-state")) + ")");

  const shot = path.join(artifactDir, "status-page.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log("screenshot: " + shot);
  if (consoleErrors.length) throw new Error("the page logged errors: " + consoleErrors.join("; "));
  await browser.close();
  browser = null;
  cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log("PASSED");
}

main().catch(async (e) => {
  if (browser) await browser.close().catch(() => {});
  fail(e.stack || String(e));
});
