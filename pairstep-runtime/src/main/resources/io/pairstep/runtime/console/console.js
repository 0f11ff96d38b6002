// The Pairstep web console: polls the status document, follows the event log over server-sent
// events, charts each service's throughput and latency, and offers deploy, upgrade, node drain and
// fault injection. Plain JavaScript against the admin API (docs/openapi.yaml).
"use strict";

const STATUS_POLL_MS = 500;
const EVENTS_SHOWN_MAX = 500;
const REPLICAS_BY_MODE = { pair: 2, dmr: 2, tmr: 3, none: 1 };
const INCIDENTS_POLL_MS = 2000;
const RESOLVED_INCIDENTS_SHOWN = 5;
const FIGURES_POLL_MS = 2000;
/** Chart points kept per service: three minutes at one point per poll. */
const CHART_POINTS = 90;

let lastStatus = null;
/** The status document last drawn, as text: an unchanged document is not drawn again. */
let lastRendered = "";
let lastSeq = 0;
let stream = null;

const $ = (id) => document.getElementById(id);

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.substring(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function notice(text, isError) {
  const box = $("notice");
  box.textContent = text;
  box.className = "notice" + (isError ? " error" : "");
  box.hidden = !text;
}

function connection(state, text) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = text;
}

// Access: the admin API asks for the system's token. The console keeps it in sessionStorage (this
// tab, this session) and hands it to the server as a SameSite=Strict session cookie, which every
// fetch and the EventSource (which cannot set headers) send without being told.
const TOKEN_KEY = "pairstep-token";
let started = false;

function setTokenCookie(token) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = TOKEN_KEY + "=" + (token || "") + "; Path=/; SameSite=Strict" + secure + (token ? "" : "; Max-Age=0");
}

function askForToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  setTokenCookie(null);
  if (stream) { stream.close(); stream = null; }
  started = false;
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  connection("lost", "not logged in");
  $("token").focus();
}

/**
 * Logs in with a token, kept only if the server takes it. Without one, tries the cookie the browser
 * may still hold: it is the host's, so a console of another node of the system (another port) has it.
 */
async function logIn(token) {
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    setTokenCookie(token);
  }
  let response;
  try {
    response = await fetch("/v1/status", { cache: "no-store" });
  } catch (e) {
    $("login-error").textContent = "cannot reach " + location.host + ": " + e;
    return;
  }
  if (response.status === 401) {
    const body = await response.json().catch(() => ({}));
    askForToken(token ? (body.error || "wrong token") : "");
    return;
  }
  $("login").hidden = true;
  $("main").hidden = false;
  $("token").value = "";
  if (!started) {
    started = true;
    pollStatus();
    followEvents();
    pollIncidents();
    pollFigures();
  }
}

async function pollStatus() {
  try {
    const response = await fetch("/v1/status", { cache: "no-store" });
    const body = await response.json();
    if (response.status === 401) {
      // Polling stops; the next login starts it again.
      askForToken(body.error);
      return;
    }
    if (!response.ok) {
      connection("lost", body.error || ("HTTP " + response.status));
    } else {
      // Of two documents the higher version is newer: never step back to an older picture.
      if (!lastStatus || body.version >= lastStatus.version) {
        lastStatus = body;
        render(body);
      }
      connection("live", "live · version " + lastStatus.version);
    }
  } catch (e) {
    connection("lost", "lost contact with " + location.host);
  }
  setTimeout(pollStatus, STATUS_POLL_MS);
}

function render(status) {
  // Redrawing replaces the elements: skip it when nothing changed, so a click is never lost to it.
  const text = JSON.stringify(status);
  if (text === lastRendered) return;
  lastRendered = text;
  connection("live", "live · version " + status.version);
  $("system").textContent = "system " + status.system + " · served by " + location.host;
  renderNodes(status);
  renderServices(status);
}

function renderNodes(status) {
  const cards = status.nodes.map((node) => {
    const leader = node.id === status.controllerLeader;
    const down = node.state !== "up";
    return el("div", { class: "node", "data-node": node.id, "data-state": node.state, "data-leader": leader ? "true" : "false",
      "data-draining": draining.has(node.id) ? "true" : "false" },
      el("div", { class: "title" }, node.id,
        el("span", { class: "badge " + (down ? "down" : "up") }, node.state),
        leader ? el("span", { class: "badge leader", title: "leads the controller" }, "★ leader") : null),
      el("div", { class: "details" }, "pid " + (node.pid || "?") + " · " + node.http),
      draining.has(node.id) ? el("div", { class: "draining" }, "draining · " + (nodeLoad.get(node.id) || 0) + " replicas left") : null,
      el("div", { class: "actions" },
        el("button", { class: "kill", "data-node": node.id, disabled: down, title: "SIGKILL this node's process" }, "kill"),
        draining.has(node.id)
          ? el("button", { class: "drain", "data-node": node.id, "data-action": "undrain", title: "let this node take replicas again" }, "undrain")
          : el("button", { class: "drain", "data-node": node.id, "data-action": "drain", disabled: down,
              title: "move primaries, then replicas, off this node so that it can be stopped" }, "drain")));
  });
  $("nodes").replaceChildren(...cards);
}

/** While an upgrade moves replicas: its state, and what it waits for if anything. */
function upgradeLine(upgrade) {
  if (!upgrade || !["shadow", "upgrading", "baking", "rolling-back"].includes(upgrade.state)) return null;
  const parts = ["upgrade to version " + upgrade.to + ": " + upgrade.state];
  if (upgrade.replicas !== undefined) parts.push(upgrade.replicasAtTarget + "/" + upgrade.replicas + " replicas moved");
  if (upgrade.state === "baking" && upgrade.bakeSeconds) parts.push("version " + upgrade.from + " kept as backup for " + upgrade.bakeSeconds + " s");
  if (upgrade.waiting) parts.push("waiting: " + upgrade.waiting);
  return el("div", { class: "upgrade", "data-upgrade-state": upgrade.state }, parts.join(" · "));
}

function renderServices(status) {
  if (status.services.length === 0) {
    $("services").replaceChildren(el("p", { class: "muted" }, "No service deployed yet."));
    return;
  }
  const down = new Set(status.nodes.filter((n) => n.state !== "up").map((n) => n.id));
  const blocks = status.services.map((service) => {
    const rows = status.groups.filter((g) => g.service === service.name).map((group) => {
      const wanted = REPLICAS_BY_MODE[group.mode] || group.replicas.length;
      // During an upgrade the replicas of a group run two versions: say which runs which.
      const mixed = new Set(group.replicas.map((r) => r.version)).size > 1;
      const chips = group.replicas.map((r) => {
        const broken = down.has(r.node);
        const classes = ["replica", r.role, r.state, broken ? "broken" : ""].join(" ").trim();
        return el("span", { class: classes, "data-node": r.node, "data-role": r.role, "data-state": broken ? "broken" : r.state,
          title: r.role + " on " + r.node + ", " + (broken ? "its node is down" : r.state) },
          r.node + " · " + r.role + (mixed ? " · v" + r.version : "") + (r.state === "ok" && !broken ? "" : " · " + (broken ? "node down" : r.state)));
      });
      for (let i = group.replicas.length; i < wanted; i++) {
        chips.push(el("span", { class: "replica missing", "data-state": "missing" }, "missing replica"));
      }
      const primary = group.replicas.find((r) => r.role === "primary");
      const degraded = group.replicas.length < wanted || group.replicas.some((r) => r.state !== "ok" || down.has(r.node));
      return el("tr", { class: degraded ? "degraded" : "", "data-group": group.service + "/" + group.partition,
        "data-primary": primary ? primary.node : "", "data-epoch": group.epoch },
        el("td", {}, String(group.partition)),
        el("td", {}, String(group.epoch)),
        el("td", {}, chips));
    });
    return el("div", { class: "service", "data-service": service.name, "data-version": service.version },
      el("h3", {}, service.name, " ", el("span", { class: "muted" },
        "version " + service.version + " · " + service.mode + " · " + service.partitions + " partition"
          + (service.partitions === 1 ? "" : "s") + " · " + service.artifact)),
      upgradeLine(service.upgrade),
      chartFor(service.name),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "partition"), el("th", {}, "epoch"), el("th", {}, "replicas"))),
        el("tbody", {}, rows)));
  });
  $("services").replaceChildren(...blocks);
  const select = $("upgrade").elements.service;
  const chosen = select.value;
  select.replaceChildren(...status.services.map((service) => el("option", { selected: service.name === chosen }, service.name)));
  drawCharts();
}

function addEvent(event, fresh) {
  if (event.seq <= lastSeq) return;
  lastSeq = event.seq;
  const time = new Date(event.time);
  const item = el("li", { class: fresh ? "fresh" : "", "data-type": event.type, "data-seq": event.seq, "data-version": event.version,
    title: event.time + " · controller version " + event.version },
    el("span", { class: "time" }, time.toLocaleTimeString([], { hour12: false })),
    el("span", { class: "type" }, event.type),
    el("span", { class: "message" }, event.message));
  const list = $("events");
  list.prepend(item);
  while (list.children.length > EVENTS_SHOWN_MAX) list.lastChild.remove();
}

async function followEvents() {
  try {
    const response = await fetch("/v1/events", { cache: "no-store" });
    if (response.ok) {
      const events = await response.json();
      events.slice(-EVENTS_SHOWN_MAX).forEach((e) => addEvent(e, false));
    }
  } catch (e) {
    // The stream below reports the connection state.
  }
  openStream();
}

function openStream() {
  if (stream) stream.close();
  stream = new EventSource("/v1/events/stream?since=" + lastSeq);
  stream.onopen = () => { $("events-state").textContent = "live"; };
  stream.onmessage = (message) => {
    const event = JSON.parse(message.data);
    addEvent(event, true);
    // Something changed: show it now rather than at the next poll.
    refreshSoon();
    if (event.type.startsWith("incident-")) loadIncidents();
  };
  stream.onerror = () => {
    $("events-state").textContent = "reconnecting…";
    stream.close();
    // After a logout the stream stays closed; the next login opens it again.
    setTimeout(() => { if (started) openStream(); }, 1000);
  };
}

let refreshQueued = false;
function refreshSoon() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(async () => {
    refreshQueued = false;
    try {
      const response = await fetch("/v1/status", { cache: "no-store" });
      if (response.ok) {
        const body = await response.json();
        if (!lastStatus || body.version >= lastStatus.version) {
          lastStatus = body;
          render(body);
        }
      }
    } catch (e) {
      // The regular poll reports the connection state.
    }
  }, 50);
}

async function kill(id) {
  if (!window.confirm("Kill node " + id + " with SIGKILL? Its replicas' partners take over.")) return;
  try {
    const response = await fetch("/v1/nodes/" + encodeURIComponent(id) + "/kill", { method: "POST" });
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) {
      // The node records the kill in the event log before it dies, unless the controller cannot take it in time.
      notice("Node " + id + " (pid " + body.pid + ") was sent SIGKILL."
        + (body.recorded === false ? " The kill is not in the event log: the controller did not take its record in time." : ""), false);
    } else {
      notice("Kill " + id + ": " + (body.error || ("HTTP " + response.status)), true);
    }
  } catch (e) {
    notice("Kill " + id + ": " + e, true);
  }
}

// Charts: every FIGURES_POLL_MS the node asked gathers every node's partition monitors
// (GET /v1/metrics/partitions). A service's throughput is the sum over its primaries (each partition
// counts once), its latency the worst p99 among them, both as the nodes measured them over the last second.
const series = new Map(); // service -> [{ t, throughput, p99 }]
const charts = new Map(); // service -> canvas, kept across redraws
const draining = new Set();
const nodeLoad = new Map(); // node -> replicas it hosts

async function pollFigures() {
  try {
    const [figures, nodes] = await Promise.all([
      fetch("/v1/metrics/partitions", { cache: "no-store" }).then((r) => (r.ok ? r.json() : null)),
      fetch("/v1/nodes", { cache: "no-store" }).then((r) => (r.ok ? r.json() : null))]);
    if (figures) addPoints(figures);
    if (nodes) {
      const before = JSON.stringify([...draining]) + JSON.stringify([...nodeLoad]);
      draining.clear();
      nodeLoad.clear();
      for (const node of nodes) {
        if (node.draining) draining.add(node.id);
        nodeLoad.set(node.id, node.replicas);
      }
      if (before !== JSON.stringify([...draining]) + JSON.stringify([...nodeLoad]) && lastStatus) renderNodes(lastStatus);
    }
    drawCharts();
  } catch (e) {
    // The status poll reports the connection state.
  }
  if (started) setTimeout(pollFigures, FIGURES_POLL_MS);
}

function addPoints(figures) {
  const now = Date.parse(figures.time) || Date.now();
  const byService = new Map();
  for (const p of figures.partitions) {
    if (p.role !== "primary") continue;
    const point = byService.get(p.service) || { t: now, throughput: 0, p99: null };
    point.throughput += p.throughput;
    if (p.latencyP99Ms !== null && (point.p99 === null || p.latencyP99Ms > point.p99)) point.p99 = p.latencyP99Ms;
    byService.set(p.service, point);
  }
  const services = lastStatus ? lastStatus.services.map((s) => s.name) : [...byService.keys()];
  for (const name of services) {
    const points = series.get(name) || [];
    points.push(byService.get(name) || { t: now, throughput: 0, p99: null });
    while (points.length > CHART_POINTS) points.shift();
    series.set(name, points);
  }
}

function chartFor(name) {
  let figure = charts.get(name);
  if (!figure) {
    figure = el("figure", { class: "chart", "data-service": name },
      el("canvas", { width: 480, height: 56 }),
      el("figcaption", { class: "muted" }, "waiting for figures…"));
    charts.set(name, figure);
  }
  return figure;
}

function drawCharts() {
  for (const [name, figure] of charts) {
    const points = series.get(name) || [];
    const canvas = figure.querySelector("canvas");
    const g = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 4;
    g.clearRect(0, 0, w, h);
    g.strokeStyle = "#dde1e8";
    g.strokeRect(0.5, 0.5, w - 1, h - 1);
    if (points.length === 0) continue;
    const maxThroughput = Math.max(1, ...points.map((p) => p.throughput));
    const maxP99 = Math.max(1, ...points.map((p) => p.p99 || 0));
    const x = (i) => pad + (w - 2 * pad) * (i + CHART_POINTS - points.length) / (CHART_POINTS - 1);
    const line = (color, value, max) => {
      g.strokeStyle = color;
      g.lineWidth = 1.5;
      g.beginPath();
      let drawing = false;
      points.forEach((p, i) => {
        const v = value(p);
        if (v === null) { drawing = false; return; }
        const y = h - pad - (h - 2 * pad) * v / max;
        if (drawing) g.lineTo(x(i), y); else g.moveTo(x(i), y);
        drawing = true;
      });
      g.stroke();
    };
    line("#1a56c4", (p) => p.throughput, maxThroughput);
    line("#d9822b", (p) => p.p99, maxP99);
    const last = points[points.length - 1];
    figure.dataset.throughput = String(Math.round(last.throughput));
    figure.dataset.p99 = last.p99 === null ? "" : String(last.p99);
    figure.querySelector("figcaption").replaceChildren(
      el("span", { class: "throughput" }, Math.round(last.throughput).toLocaleString() + " commands/s"),
      " (peak " + Math.round(maxThroughput).toLocaleString() + ") · ",
      el("span", { class: "p99" }, "p99 " + (last.p99 === null ? "–" : last.p99.toFixed(1) + " ms")),
      " (peak " + maxP99.toFixed(1) + " ms) · last " + Math.round((points.length - 1) * FIGURES_POLL_MS / 1000) + " s");
  }
}

async function drain(id, action) {
  if (action === "drain" && !window.confirm("Drain node " + id + "? Its primaries, then its replicas, move to other nodes.")) return;
  try {
    const response = await fetch("/v1/nodes/" + encodeURIComponent(id) + "/" + action, { method: "POST" });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      notice(action === "drain"
        ? "Draining " + id + ": " + body.replicas + " replicas (" + body.primaries + " primaries) to move; it can be stopped when none are left."
        : "Node " + id + " takes replicas again.", false);
      if (body.draining) draining.add(id); else draining.delete(id);
      nodeLoad.set(id, body.replicas);
      if (lastStatus) renderNodes(lastStatus);
    } else {
      notice((action === "drain" ? "Drain " : "Undrain ") + id + ": " + (body.error || ("HTTP " + response.status)), true);
    }
  } catch (e) {
    notice("Drain " + id + ": " + e, true);
  }
}

async function upgrade(form) {
  const data = new FormData(form);
  const name = data.get("service");
  const jar = form.elements.jar.files[0];
  const example = data.get("example");
  const request = { shadow: Number(data.get("shadow") || 0) };
  const bake = Number(data.get("bake") || 0);
  if (bake > 0) request.bakeSeconds = bake;
  const className = (data.get("class") || "").trim();
  try {
    if ((jar ? 1 : 0) + (example ? 1 : 0) !== 1) {
      notice("Upgrade " + name + ": choose either a jar or an example.", true);
      return;
    }
    if (jar) {
      request.digest = await uploadJar(jar, className, "Upgrade " + name);
      if (!request.digest) return;
      if (className) request.class = className;
    } else {
      request.example = example;
    }
    const response = await fetch("/v1/services/" + encodeURIComponent(name) + "/upgrade", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      notice("Upgrading " + name + " from version " + body.from + " to " + body.to
        + (body.shadow > 0 ? ", after a shadow run of " + body.shadow + " commands" : "")
        + (body.bakeSeconds > 0 ? ", baking " + body.bakeSeconds + " s" : "")
        + ": backups first, then roles switch; watch the events.", false);
      form.reset();
      refreshSoon();
    } else {
      notice("Upgrade " + name + ": " + (body.error || ("HTTP " + response.status)), true);
    }
  } catch (e) {
    notice("Upgrade " + name + ": " + e, true);
  }
}

/** The incidents text last drawn: an unchanged list is not drawn again, so an acknowledge click is never lost. */
let lastIncidents = "";

async function loadIncidents() {
  try {
    const response = await fetch("/v1/incidents", { cache: "no-store" });
    if (!response.ok) return;
    const incidents = await response.json();
    const text = JSON.stringify(incidents);
    if (text !== lastIncidents) {
      lastIncidents = text;
      renderIncidents(incidents);
    }
  } catch (e) {
    // The status poll reports the connection state.
  }
}

async function pollIncidents() {
  await loadIncidents();
  setTimeout(pollIncidents, INCIDENTS_POLL_MS);
}

/** Unresolved incidents first, newest first, each with what happened and what to do; then the latest resolved ones. */
function renderIncidents(incidents) {
  const unresolved = incidents.filter((i) => i.state !== "resolved").reverse();
  const resolved = incidents.filter((i) => i.state === "resolved").reverse().slice(0, RESOLVED_INCIDENTS_SHOWN);
  const open = unresolved.filter((i) => i.state === "open").length;
  $("incidents-state").textContent = unresolved.length === 0 ? "none open" : open + " open · " + (unresolved.length - open) + " acknowledged";
  const items = unresolved.map((incident) => el("li", { "data-incident": incident.id, "data-state": incident.state },
    el("div", { class: "title" }, "#" + incident.id + " " + incident.kind + " · " + incident.component.id,
      el("span", { class: "badge " + incident.state }, incident.state),
      el("span", { class: "muted" }, "opened " + new Date(incident.openedAt).toLocaleTimeString([], { hour12: false })),
      incident.state === "open" ? el("button", { class: "ack", "data-incident": incident.id, title: "someone is on it" }, "acknowledge") : null),
    el("div", { class: "what" }, incident.what),
    el("div", { class: "action" }, incident.suggestedAction),
    el("details", {}, el("summary", {}, "evidence and history"),
      incident.evidence.dumpFile ? el("div", {}, "dump: " + incident.evidence.dumpFile) : null,
      incident.evidence.recentEvents.map((line) => el("div", {}, line)),
      incident.history.map((update) => el("div", {}, update.time + " · " + update.state + " · " + update.message)))));
  for (const incident of resolved) {
    const last = incident.history[incident.history.length - 1];
    items.push(el("li", { "data-incident": incident.id, "data-state": "resolved" },
      "#" + incident.id + " " + incident.kind + " · " + incident.component.id + " · " + last.message));
  }
  $("incidents").replaceChildren(...(items.length ? items : [el("li", { class: "muted", "data-state": "resolved" }, "No incidents.")]));
}

async function acknowledge(id) {
  try {
    const response = await fetch("/v1/incidents/" + encodeURIComponent(id) + "/ack", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ by: "console at " + location.host }) });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      notice("Incident " + id + " acknowledged.", false);
      loadIncidents();
    } else {
      notice("Acknowledge " + id + ": " + (body.error || ("HTTP " + response.status)), true);
    }
  } catch (e) {
    notice("Acknowledge " + id + ": " + e, true);
  }
}

/**
 * Uploads a jar chosen in a form (POST /v1/artifacts, checking that it holds className when one is
 * given) and returns its digest, or null after saying on the page why it was refused.
 */
async function uploadJar(jar, className, what) {
  const upload = await fetch("/v1/artifacts" + (className ? "?class=" + encodeURIComponent(className) : ""),
    { method: "POST", headers: { "Content-Type": "application/java-archive" }, body: jar });
  const uploaded = await upload.json().catch(() => ({}));
  if (!upload.ok) {
    notice(what + ": the jar was refused: " + (uploaded.error || ("HTTP " + upload.status)), true);
    return null;
  }
  return uploaded.digest;
}

async function deploy(form) {
  const data = new FormData(form);
  const request = { name: data.get("name"), mode: data.get("mode"), partitions: Number(data.get("partitions")) };
  const jar = form.elements.jar.files[0];
  const example = data.get("example");
  const className = (data.get("class") || "").trim();
  try {
    if ((jar ? 1 : 0) + (example ? 1 : 0) !== 1) {
      notice("Deploy " + request.name + ": choose either an example or a jar (set example to – for a jar).", true);
      return;
    }
    if (jar) {
      if (!className) {
        notice("Deploy " + request.name + ": name the service class in the jar.", true);
        return;
      }
      request.digest = await uploadJar(jar, className, "Deploy " + request.name);
      if (!request.digest) return;
      request.class = className;
    } else {
      request.example = example;
    }
    const response = await fetch("/v1/services", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request) });
    const body = await response.json().catch(() => ({}));
    if (response.status === 201) {
      notice("Deployed " + body.name + ": " + body.mode + ", " + body.partitions + " partition" + (body.partitions === 1 ? "" : "s") + ".", false);
      form.reset();
      refreshSoon();
    } else {
      notice("Deploy " + request.name + ": " + (body.error || ("HTTP " + response.status)), true);
    }
  } catch (e) {
    notice("Deploy " + request.name + ": " + e, true);
  }
}

$("deploy").addEventListener("submit", (e) => {
  e.preventDefault();
  deploy(e.target);
});

$("upgrade").addEventListener("submit", (e) => {
  e.preventDefault();
  upgrade(e.target);
});

// One listener for every node button, however often the nodes are redrawn.
$("nodes").addEventListener("click", (e) => {
  const button = e.target.closest("button.kill, button.drain");
  if (!button || button.disabled) return;
  if (button.classList.contains("kill")) kill(button.dataset.node);
  else drain(button.dataset.node, button.dataset.action);
});

$("incidents").addEventListener("click", (e) => {
  const button = e.target.closest("button.ack");
  if (button) acknowledge(button.dataset.incident);
});

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  logIn($("token").value.trim());
});

logIn(sessionStorage.getItem(TOKEN_KEY));
