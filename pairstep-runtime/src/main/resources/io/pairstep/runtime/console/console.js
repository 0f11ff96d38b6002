// The Pairstep web console: polls the status document, follows the event log over server-sent
// events, and offers fault injection. Plain JavaScript against the admin API (docs/openapi.yaml).
"use strict";

const STATUS_POLL_MS = 500;
const EVENTS_SHOWN_MAX = 500;
const REPLICAS_BY_MODE = { pair: 2, dmr: 2, tmr: 3, none: 1 };
const INCIDENTS_POLL_MS = 2000;
const RESOLVED_INCIDENTS_SHOWN = 5;

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
    return el("div", { class: "node", "data-node": node.id, "data-state": node.state, "data-leader": leader ? "true" : "false" },
      el("div", { class: "title" }, node.id,
        el("span", { class: "badge " + (down ? "down" : "up") }, node.state),
        leader ? el("span", { class: "badge leader", title: "leads the controller" }, "★ leader") : null),
      el("div", { class: "details" }, "pid " + (node.pid || "?") + " · " + node.http),
      el("button", { class: "kill", "data-node": node.id, disabled: down, title: "SIGKILL this node's process" }, "kill"));
  });
  $("nodes").replaceChildren(...cards);
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
      const chips = group.replicas.map((r) => {
        const broken = down.has(r.node);
        const classes = ["replica", r.role, r.state, broken ? "broken" : ""].join(" ").trim();
        return el("span", { class: classes, "data-node": r.node, "data-role": r.role, "data-state": broken ? "broken" : r.state,
          title: r.role + " on " + r.node + ", " + (broken ? "its node is down" : r.state) },
          r.node + " · " + r.role + (r.state === "ok" && !broken ? "" : " · " + (broken ? "node down" : r.state)));
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
    return el("div", { class: "service", "data-service": service.name },
      el("h3", {}, service.name, " ", el("span", { class: "muted" },
        "version " + service.version + " · " + service.mode + " · " + service.partitions + " partition"
          + (service.partitions === 1 ? "" : "s") + " · " + service.artifact)),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "partition"), el("th", {}, "epoch"), el("th", {}, "replicas"))),
        el("tbody", {}, rows)));
  });
  $("services").replaceChildren(...blocks);
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
      notice("Node " + id + " (pid " + body.pid + ") was sent SIGKILL.", false);
    } else {
      notice("Kill " + id + ": " + (body.error || ("HTTP " + response.status)), true);
    }
  } catch (e) {
    notice("Kill " + id + ": " + e, true);
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

async function deploy(form) {
  const data = new FormData(form);
  const request = { name: data.get("name"), example: data.get("example"), mode: data.get("mode"),
    partitions: Number(data.get("partitions")) };
  try {
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

// One listener for every kill button, however often the nodes are redrawn.
$("nodes").addEventListener("click", (e) => {
  const button = e.target.closest("button.kill");
  if (button && !button.disabled) kill(button.dataset.node);
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
