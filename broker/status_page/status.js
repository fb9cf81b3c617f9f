// The status page: polls /api/overview and redraws each part in place.
// Everything from the broker is shown through textContent, never as HTML.
"use strict";

const POLL_MS = 2000;
const STATES = ["scheduled", "queued", "running", "succeeded", "failed", "dead", "cancelled", "upstream_failed"];
const FINISHED = ["succeeded", "dead", "cancelled", "upstream_failed"];
let previous = null;  // {at, finished: {queue: n}, counters}
let openStage = null;  // {run, stage, job}
let timer = null;

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "onclick") e.addEventListener("click", v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function token() { return sessionStorage.getItem("sluice-token") || ""; }

async function api(path) {
  const headers = {};
  if (token()) headers["Authorization"] = "Bearer " + token();
  const r = await fetch(path, { headers, cache: "no-store" });
  if (r.status === 401) {
    $("token-form").hidden = false;
    throw new Error("a bearer token is required");
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.code + ": " + body.error.message : "HTTP " + r.status);
  return body;
}

function fmtTime(ms) {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtAgo(ms, now) {
  if (!ms) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  return Math.floor(s / 3600) + " h ago";
}

function fmtBytes(n) {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return v.toFixed(1) + " " + units[i];
}

function fill(tableId, rows, empty) {
  const body = $(tableId).tBodies[0];
  if (rows.length === 0) {
    const cols = $(tableId).tHead.rows[0].cells.length;
    rows = [el("tr", {}, el("td", { class: "muted", colSpan: cols, text: empty }))];
  }
  body.replaceChildren(...rows);
}

function renderHeader(o) {
  const s = o.stats;
  $("broker").textContent = "broker " + s.version + " · pid " + s.pid + " · up " +
    Math.floor(s.uptime_ms / 60000) + " min";
  const db = $("db");
  db.textContent = s.state_db.writable ? "state db ok" : "state db not writable: " + s.state_db.error;
  db.className = "badge " + (s.state_db.writable ? "ok" : "bad");
}

function renderQueues(o, now) {
  const queues = o.stats.queues || {};
  const finished = {};
  const rows = [];
  for (const [name, q] of Object.entries(queues)) {
    finished[name] = FINISHED.reduce((t, st) => t + (q[st] || 0), 0);
    let rate = "";
    if (previous && previous.finished[name] !== undefined && now > previous.at) {
      const d = Math.max(0, finished[name] - previous.finished[name]);
      rate = (d * 1000 / (now - previous.at)).toFixed(1);
    }
    rows.push(el("tr", { "data-queue": name },
      el("td", { text: name }),
      el("td", { class: "n", text: q.scheduled || 0 }), el("td", { class: "n", text: q.queued || 0 }),
      el("td", { class: "n", text: q.running || 0 }), el("td", { class: "n", text: q.succeeded || 0 }),
      el("td", { class: "n", text: q.dead || 0 }), el("td", { class: "n", text: rate })));
  }
  fill("queues", rows, "no jobs yet");
  const c = o.stats.counters;
  let rates = "";
  if (previous && now > previous.at) {
    const per = (k) => (Math.max(0, c[k] - previous.counters[k]) * 1000 / (now - previous.at)).toFixed(1);
    rates = " · now " + per("submitted") + " submitted/s, " + per("succeeded") + " succeeded/s";
  }
  $("totals").textContent = "since the state database was made: " + c.submitted + " submitted, " +
    c.succeeded + " succeeded, " + c.dead + " dead, " + c.retried + " retried" + rates;
  return finished;
}

function jobLink(id) {
  return el("a", { href: "/api/jobs/" + encodeURIComponent(id), text: id });
}

function renderWorkers(o, now) {
  fill("workers", o.workers.map((w) => el("tr", { "data-worker": w.worker },
    el("td", { text: w.worker }), el("td", { text: w.host || "" }), el("td", { text: w.queues.join(", ") }),
    el("td", { class: "n", text: Math.min(w.busy, w.slots) + " / " + w.slots }),
    el("td", {}, ...w.running.flatMap(([job, attempt], i) =>
      [i ? ", " : null, jobLink(job), attempt > 1 ? " (attempt " + attempt + ")" : null])),
    el("td", { text: fmtAgo(w.last_seen_ms, now) }))), "no worker connected");
}

function stageCell(run, stage) {
  const b = el("button", {
    class: "cell", type: "button", "data-run": run.id, "data-stage": stage.name, "data-state": stage.state,
    title: run.id + " · " + stage.name + ": " + stage.state + (stage.error ? "\n" + stage.error : ""),
  });
  b.addEventListener("click", () => { openStage = { run: run.id, stage: stage.name, job: stage.job }; showDetail(); });
  return b;
}

function renderRuns(o) {
  const grids = [];
  for (const [workflow, runsNewestFirst] of Object.entries(o.runs)) {
    const runs = runsNewestFirst.slice().reverse();
    const stages = [];
    for (const r of runsNewestFirst) for (const s of r.stages) if (!stages.includes(s.name)) stages.push(s.name);
    const head = el("tr", {}, el("th", {}), ...runs.map((r) =>
      el("th", { class: "run", title: r.id + " " + r.state + " (" + r.trigger + ")", text: r.logical_date + " " + r.id })));
    const stateRow = el("tr", {}, el("th", { class: "stage muted", text: "run" }), ...runs.map((r) =>
      el("td", {}, el("span", { class: "cell run-state", "data-run-state": r.state, "data-state": r.state, title: r.id + ": " + r.state }))));
    const rows = stages.map((name) => el("tr", {}, el("th", { class: "stage", text: name }), ...runs.map((r) => {
      const s = r.stages.find((x) => x.name === name);
      return el("td", {}, s ? stageCell(r, s) : null);
    })));
    grids.push(el("div", { class: "grid", "data-workflow": workflow },
      el("h3", { text: workflow + (runs.length ? "" : " (no runs yet)") }),
      runs.length ? el("table", {}, el("thead", {}, head), el("tbody", {}, stateRow, ...rows)) : null));
  }
  $("grids").replaceChildren(...grids);
}

async function showDetail() {
  if (!openStage) return;
  const d = $("detail");
  d.hidden = false;
  $("detail-title").textContent = openStage.run + " · " + openStage.stage;
  const facts = [];
  const attempts = [];
  try {
    const run = await api("/api/runs/" + encodeURIComponent(openStage.run));
    const stage = run.stages.find((s) => s.name === openStage.stage) || {};
    facts.push(["run", run.id + " (" + run.workflow + ", " + run.state + ")"], ["stage", stage.name + " · " + stage.kind],
      ["state", stage.state], ["job", stage.job || "not submitted yet"]);
    if (stage.error) facts.push(["error", stage.error]);
    if (stage.job) {
      const job = await api("/api/jobs/" + encodeURIComponent(stage.job));
      facts.push(["job state", job.state], ["attempts", job.attempt + " of " + job.max_attempts]);
      if (job.state === "dead") facts.push(["retry", "sluice retry " + job.id]);
      for (const a of (job.attempts || []).slice().reverse()) {
        attempts.push(el("div", { class: "attempt", "data-attempt": a.attempt },
          el("div", { text: "attempt " + a.attempt + " · " + (a.outcome || "running") + " · " + (a.worker || "") +
            " · " + fmtTime(a.started_ms) + (a.exit_code !== null && a.exit_code !== undefined ? " · exit " + a.exit_code : "") }),
          a.error ? el("div", { class: "error", text: a.error }) : null,
          a.stdout ? el("div", {}, el("div", { class: "muted", text: "stdout (tail)" }), el("pre", { text: a.stdout })) : null,
          a.stderr ? el("div", {}, el("div", { class: "muted", text: "stderr (tail)" }), el("pre", { text: a.stderr })) : null));
      }
    }
  } catch (e) {
    facts.push(["error", String(e.message || e)]);
  }
  $("detail-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  $("detail-attempts").replaceChildren(...attempts);
}

function copyButton(text) {
  return el("button", { class: "copy", type: "button", text: "copy", title: text, onclick: () => {
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
  } });
}

function renderDead(o) {
  fill("dead", o.dead.map((j) => el("tr", { "data-job": j.id },
    el("td", {}, jobLink(j.id)), el("td", { text: j.kind }), el("td", { text: j.queue }),
    el("td", { text: fmtTime(j.finished_ms) }), el("td", { class: "error", text: j.error || "" }),
    el("td", {}, el("code", { text: "sluice retry " + j.id }), " ", copyButton("sluice retry " + j.id)))), "none");
}

function renderSchedules(o) {
  fill("schedules", o.schedules.map((s) => el("tr", { "data-workflow": s.workflow },
    el("td", { text: s.workflow }), el("td", { text: s.schedule || "manual" }),
    el("td", { class: s.paused ? "paused" : "", text: s.paused ? "paused" : "active" }),
    el("td", { text: s.next_fire || "" }), el("td", { text: s.last_fire || "" }),
    el("td", { class: "n", text: s.active_runs }))), "no workflows");
}

function renderExtractions(o) {
  const x = o.export;
  $("export").textContent = x && x.outputs
    ? "serving export: version " + x.outputs.version + " (" + x.id + ", " + fmtTime(x.finished_ms) + ")"
    : "serving export: none yet";
  fill("extractions", o.extractions.map((r) => el("tr", { "data-extraction": r.run_id },
    el("td", { text: r.run_id }), el("td", { text: r.source || r.extractor || "" }), el("td", { text: r.status || "" }),
    el("td", { class: "n", text: r.files_written }), el("td", { class: "n", text: r.files_skipped }),
    el("td", { class: "n", text: fmtBytes(r.bytes_written) }), el("td", { text: r.started_at || "" }),
    el("td", { class: "error", text: r.error_message || "" }))), "no extract runs");
}

function legend() {
  $("legend").replaceChildren(...STATES.map((s) => el("span", {}, el("span", { class: "cell", "data-state": s }), " " + s)));
}

async function poll() {
  const live = $("live");
  try {
    const o = await api("/api/overview");
    const now = o.stats.now_ms || Date.now();
    renderHeader(o);
    const finished = renderQueues(o, now);
    renderWorkers(o, now);
    renderRuns(o);
    renderDead(o);
    renderSchedules(o);
    renderExtractions(o);
    if (openStage) await showDetail();
    previous = { at: now, finished, counters: o.stats.counters };
    live.textContent = "live · " + new Date().toLocaleTimeString();
    live.className = "badge ok";
  } catch (e) {
    live.textContent = "not updating: " + (e.message || e);
    live.className = "badge bad";
  }
  timer = setTimeout(poll, POLL_MS);
}

$("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("sluice-token", $("token").value.trim());
  $("token-form").hidden = true;
  clearTimeout(timer);
  poll();
});
$("detail-close").addEventListener("click", () => { openStage = null; $("detail").hidden = true; });
legend();
poll();
