// The voxsim console: a page of plain JavaScript over the JSON and server-sent events of
// /_voxsim/console/api (mock_api/console/__init__.py). Views: #/ (overview), #/sessions/<N> (a session's
// timeline), #/call (a simulated caller in the browser). Everything shown is built with textContent: data is
// never parsed as HTML.
"use strict";

const API = "/_voxsim/console/api";
const view = document.getElementById("view");
let current = null; // the open view: {close()}

// ------------------------------------------------------------------ helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function table(headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted", text: empty });
  return el("table", {}, el("tr", {}, headers.map((h) => el("th", { text: h }))), rows);
}

function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

function setLive(on) {
  const badge = document.getElementById("live");
  badge.textContent = on ? "live" : "reconnecting…";
  badge.className = "badge " + (on ? "on" : "off");
}

// A server-sent event stream; EventSource reconnects by itself when the emulator comes back.
function live(url, event, render) {
  const source = new EventSource(url);
  source.addEventListener(event, (message) => { setLive(true); render(JSON.parse(message.data)); });
  source.onerror = () => setLive(false);
  return source;
}

async function postJSON(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(body || {}) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function sessionLink(id) { return el("a", { href: `#/sessions/${id}`, text: `#${id}` }); }

function expiresText(at) {
  const left = Math.max(0, Math.round(at - Date.now() / 1000));
  return `expires in ${left} s`;
}

// ------------------------------------------------------------------ overview

function overviewView() {
  const parts = {
    listeners: el("div"), applications: el("div"), registrations: el("div"), whitelist: el("div"),
    sessions: el("div"), route: el("div", { id: "route-result" }),
  };
  const uri = el("input", { type: "text", id: "route-uri", placeholder: "100@app.account.voximplant.com" });
  const form = el("form", { id: "route-form", onsubmit: (e) => { e.preventDefault(); testRoute(uri.value, parts.route); } },
                  uri, " ", el("button", { type: "submit", text: "Test route" }));
  fill(view,
       el("h2", { text: "Sessions" }), parts.sessions,
       el("h2", { text: "Applications" }), parts.applications,
       el("h2", { text: "Route tester" }),
       el("p", { class: "muted", text: "Type a request URI: each rule of its application, in routing order, with its match or miss." }),
       form, parts.route,
       el("h2", { text: "SIP registrations" }), parts.registrations,
       el("h2", { text: "SIP white list" }), parts.whitelist,
       el("h2", { text: "Listeners" }), parts.listeners);
  const source = live(`${API}/overview/events`, "overview", (data) => renderOverview(data, parts));
  const ticker = setInterval(() => {
    for (const node of document.querySelectorAll("[data-expires-at]")) node.textContent = expiresText(+node.dataset.expiresAt);
  }, 1000);
  return { close() { source.close(); clearInterval(ticker); } };
}

function renderOverview(data, parts) {
  document.getElementById("account").textContent = `account ${data.account.account_name} (${data.account.account_id})`;
  fill(parts.listeners, table(["listener", "address"], Object.entries(data.listeners).map(([name, info]) =>
    el("tr", {}, el("td", { text: name }), el("td", {}, el("code", { text: info.url })))), "none"));
  fill(parts.applications, data.applications.length ? data.applications.map(renderApplication)
       : el("p", { class: "muted", text: "No applications yet: create one with AddApplication or voxsim deploy." }));
  fill(parts.registrations, table(["id", "registration", "state", "bound to"], data.sip_registrations.map((r) =>
    el("tr", { class: r.state === "failed" ? "error" : null },
       el("td", { text: r.sip_registration_id }), el("td", {}, el("code", { text: `${r.sip_username}@${r.proxy}` })),
       el("td", { class: r.state === "registered" ? "ok" : (r.state === "failed" ? "bad" : "muted"),
                  text: r.state + (r.status_code ? ` (${r.status_code} ${r.error_message || ""})` : "") }),
       el("td", { text: r.bound_to }))), "none"));
  fill(parts.whitelist, table(["network", "description"], data.whitelist.map((w) =>
    el("tr", {}, el("td", {}, el("code", { text: w.network })), el("td", { text: w.description }))),
    "empty: no trunk can call"));
  fill(parts.sessions,
       el("p", { class: "muted", text: `newest ${data.sessions.length} of ${data.total_sessions}` }),
       table(["session", "started (UTC)", "application", "rule", "state", "duration", "calls", "error"],
             data.sessions.map(renderSessionRow), "no sessions yet"));
}

function renderApplication(app) {
  const rules = table(["#", "rule", "pattern", "exclude", "scenarios"], app.rules.map((r, i) =>
    el("tr", {}, el("td", { text: i + 1 }), el("td", { text: r.rule_name }), el("td", {}, el("code", { text: r.rule_pattern })),
       el("td", {}, r.rule_pattern_exclude ? el("code", { text: r.rule_pattern_exclude }) : ""),
       el("td", { text: r.scenarios.join(", ") || "—" }))), "no rules");
  const users = table(["user", "address", "registered contacts"], app.users.map((u) =>
    el("tr", {}, el("td", { text: u.user_name + (u.user_active ? "" : " (inactive)") }),
       el("td", {}, el("code", { text: u.address })),
       el("td", {}, u.contacts.length ? u.contacts.map((c) => el("div", {},
         el("code", { text: c.contact }), " ", el("span", { class: "muted", text: c.source }), " ",
         el("span", { class: "muted", "data-expires-at": c.expires_at, text: expiresText(c.expires_at) }),
         c.user_agent ? el("span", { class: "muted", text: ` · ${c.user_agent}` }) : ""))
         : el("span", { class: "muted", text: "not registered" })))), "no users");
  return el("div", { class: "application", "data-application": app.application_name },
            el("h3", {}, el("code", { text: app.application_name }), " ", el("span", { class: "muted", text: `id ${app.application_id}` })),
            rules, users);
}

function renderSessionRow(s) {
  return el("tr", { class: s.error ? "error" : null, "data-session": s.session_id },
            el("td", {}, sessionLink(s.session_id)), el("td", { text: s.start_date }),
            el("td", { text: s.application_name }), el("td", { text: s.rule_name }),
            el("td", { text: s.state }), el("td", { text: s.duration === null ? "" : `${s.duration} s` }),
            el("td", { text: s.calls.length }), el("td", { class: "bad", text: s.error || "" }));
}

async function testRoute(uri, out) {
  const response = await fetch(`${API}/route?uri=${encodeURIComponent(uri)}`);
  const data = await response.json();
  if (!response.ok) { fill(out, el("p", { class: "bad", text: data.error })); return; }
  const head = data.application
    ? el("p", {}, "application ", el("code", { text: data.application }), ", destination ", el("code", { text: data.destination }))
    : null;
  const rows = data.rules.map((r) => el("tr", { class: r.rule_name === data.winner && r.verdict === "match" ? "winner" : null },
    el("td", { text: r.rule_name }), el("td", {}, el("code", { text: r.rule_pattern })),
    el("td", {}, r.rule_pattern_exclude ? el("code", { text: r.rule_pattern_exclude }) : ""),
    el("td", { class: r.verdict === "match" ? "verdict-match" : "verdict-miss", text: r.verdict }),
    el("td", { text: r.scenarios.join(", ") })));
  fill(out, head, data.rules.length ? table(["rule", "pattern", "exclude", "verdict", "scenarios"], rows, "") : null,
       data.winner ? el("p", { class: "ok", text: `→ rule ${data.winner} runs` }) : null,
       data.refusal ? el("p", { class: "bad", text: `the edge answers ${data.refusal.status} ${data.refusal.reason}` }) : null);
}

// ------------------------------------------------------------------ a session's timeline

const KINDS = ["sip", "routing", "session", "event", "command", "media", "log", "voxsim", "error", "record"];

function sessionView(id) {
  const parts = { head: el("div"), calls: el("div"), records: el("div"), entries: el("div", { class: "timeline", id: "timeline" }) };
  const shown = new Set(KINDS);
  const open = new Set();
  let last = null;
  const filters = el("div", { class: "filters" }, "show: ", KINDS.map((kind) => el("label", {},
    el("input", { type: "checkbox", checked: true, onchange: (e) => {
      if (e.target.checked) shown.add(kind); else shown.delete(kind);
      if (last) renderEntries(last, parts.entries, shown, open);
    } }), ` ${kind}`)));
  fill(view, parts.head, el("h2", { text: "Calls" }), parts.calls, el("h2", { text: "Recordings" }), parts.records,
       el("h2", { text: "Timeline" }), filters, parts.entries);
  let callsJSON = "", recordsJSON = "";
  const source = live(`${API}/sessions/${id}/events`, "timeline", (data) => {
    if (data.gone) { fill(parts.head, el("p", { class: "bad", text: "this session is gone (reset)" })); return; }
    last = data;
    renderSessionHead(data.session, parts.head);
    // Rebuilt only when they change: an <audio> element that is replaced stops playing.
    const c = JSON.stringify(data.calls), r = JSON.stringify(data.records);
    if (c !== callsJSON) { callsJSON = c; renderCalls(data.calls, parts.calls); }
    if (r !== recordsJSON) { recordsJSON = r; renderRecords(data.records, parts.records); }
    renderEntries(data, parts.entries, shown, open);
  });
  return { close() { source.close(); } };
}

function renderSessionHead(s, out) {
  fill(out, el("h2", {}, `Session #${s.session_id} `, el("span", { class: "muted", text: `${s.application_name} · rule ${s.rule_name || "—"}` })),
       el("p", { id: "session-state" }, `state ${s.state}`, s.finish_reason ? ` (${s.finish_reason})` : "",
          ` · started ${s.start_date} UTC · ${s.duration ?? 0} s · `, el("a", { href: s.log_url, text: "log" })),
       s.error ? el("p", { class: "bad", id: "session-error", text: s.error }) : null);
}

function renderCalls(calls, out) {
  fill(out, table(["call", "direction", "from / to", "state", "code", "what it heard", "what it said"],
                  calls.map(renderCallRow), "no calls kept in memory (the runtime forgot this session, or it had none)"));
}

function renderCallRow(c) {
  const audio = (wav, prompts) => c.audio ? [el("audio", { controls: true, preload: "none", src: wav }),
    prompts.map((p) => el("div", { class: "muted", text: `${p.kind}: ${p.text || p.url || p.digits || ""}` }))] : "";
  return el("tr", { class: c.code >= 400 ? "error" : null },
            el("td", {}, el("code", { text: c.call_id })), el("td", { text: c.incoming ? "inbound" : "outbound" }),
            el("td", { text: `${c.callerid || "?"} → ${c.number || "?"}` }), el("td", { text: c.state }),
            el("td", { text: c.code ? `${c.code} ${c.reason || ""}` : "" }),
            el("td", { class: "heard" }, c.audio ? audio(c.audio.heard_wav, c.audio.heard) : ""),
            el("td", { class: "said" }, c.audio ? audio(c.audio.said_wav, c.audio.said) : ""));
}

function renderRecords(records, out) {
  fill(out, records.length ? records.map((r) => el("div", { class: "record" },
    el("code", { text: r.record_name }), ` ${r.duration} s `, el("audio", { controls: true, preload: "none", src: r.record_url })))
    : el("p", { class: "muted", text: "none" }));
}

function renderEntries(data, out, shown, open) {
  const nodes = [];
  if (data.omitted) nodes.push(el("p", { class: "muted", text: `${data.omitted} earlier entries omitted: see the log` }));
  data.entries.forEach((e, i) => {
    if (!shown.has(e.kind)) return;
    const key = `${i}|${e.t}|${e.title}`;
    const detail = e.detail ? el("pre", { hidden: !open.has(key), text: e.detail }) : null;
    nodes.push(el("div", { class: `entry${e.error ? " error" : ""}`, "data-kind": e.kind, onclick: () => {
      if (!detail) return;
      detail.hidden = !detail.hidden;
      if (detail.hidden) open.delete(key); else open.add(key);
    } }, el("span", { class: "ts", text: e.ts.slice(11) }), el("span", { class: `kind kind-${e.kind}`, text: e.kind }),
      el("span", { class: "title", text: e.title }), e.peer ? el("span", { class: "peer", text: e.peer }) : null, detail));
  });
  fill(out, nodes.length ? nodes : el("p", { class: "muted", text: "nothing yet" }));
}

// ------------------------------------------------------------------ a call from the browser

function callView() {
  const to = el("input", { type: "text", id: "call-to", placeholder: "100@app.account.voximplant.com" });
  const from = el("input", { type: "text", id: "call-from", value: "sip:browser@127.0.0.1" });
  const status = el("p", { id: "call-status", class: "muted", text: "no call" });
  const panel = el("div", { id: "call-panel", hidden: true });
  let call = null;
  const form = el("form", { id: "call-form", onsubmit: async (e) => {
    e.preventDefault();
    if (call) call.close();
    call = null;
    try {
      const started = await postJSON("/_voxsim/simulate/call", { to: to.value, from: from.value });
      call = activeCall(started, status, panel);
    } catch (error) {
      fill(status, el("span", { class: "bad", text: `refused: ${error.message}` }));
    }
  } }, el("div", {}, "to ", to), el("div", {}, "from ", from), el("button", { type: "submit", id: "call-button", text: "Call" }));
  fill(view, el("h2", { text: "Call from the browser" }),
       el("p", { class: "muted", text: "A simulated caller: it routes like a SIP call, with no SIP. You hear what the scenario plays to it." }),
       el("div", { class: "panel" }, form), status, panel);
  fetch(`${API}/overview`).then((r) => r.json()).then((data) => {
    const app = data.applications.find((a) => a.rules.length);
    if (app && !to.value) to.value = `100@${app.application_name}`;
  }).catch(() => {});
  return { close() { if (call) call.close(); } };
}

function activeCall(started, status, panel) {
  const callId = started.call_id, sessionId = started.call_session_history_id;
  const player = audioPlayer(callId);
  const said = el("input", { type: "text", id: "say-text", placeholder: "what the caller says" });
  const events = el("div", { class: "timeline", id: "call-events" });
  const act = (path, body) => postJSON(`/_voxsim/simulate/calls/${callId}/${path}`, body)
    .catch((error) => fill(status, el("span", { class: "bad", text: error.message })));
  const keys = "123456789*0#".split("").map((digit) => el("button", { type: "button", "data-digit": digit, text: digit,
    onclick: () => act("dtmf", { digits: digit }) }));
  fill(panel, el("div", { class: "panel" },
    el("p", {}, "call ", el("code", { text: callId }), " in session ", sessionLink(sessionId), " · ",
       el("span", { id: "audio-meter", text: "audio: 0.0 s" })),
    el("div", { class: "keypad", id: "keypad" }, keys),
    el("form", { id: "say-form", onsubmit: (e) => { e.preventDefault(); if (said.value.trim()) act("say", { text: said.value }); said.value = ""; } },
       said, " ", el("button", { type: "submit", text: "Say" })),
    el("p", {}, el("button", { type: "button", id: "hangup-button", text: "Hang up", onclick: () => act("hangup") }))),
    el("h3", { text: "What happens" }), events);
  panel.hidden = false;
  fill(status, el("span", { class: "ok", text: `calling: session #${sessionId}` }));
  const source = live(`${API}/sessions/${sessionId}/events`, "timeline", (data) => {
    if (data.gone) return;
    const s = data.session;
    fill(status, el("span", { class: s.error ? "bad" : "ok", text: `session #${sessionId}: ${s.state}` +
      (s.finish_reason ? ` (${s.finish_reason})` : "") + (s.error ? ` — ${s.error}` : "") }));
    const recent = data.entries.filter((e) => ["event", "command", "media", "log", "error"].includes(e.kind)).slice(-40);
    renderEntries({ entries: recent, omitted: 0 }, events, new Set(KINDS), new Set());
  });
  return { close() { source.close(); player.close(); } };
}

// The call's audio from /_voxsim/calls/<id>/audio.ws: PCM16 at 8 kHz, queued one chunk after another.
function audioPlayer(callId) {
  const meter = () => document.getElementById("audio-meter");
  let context = null;
  try { context = new AudioContext(); } catch (error) { context = null; }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/_voxsim/calls/${encodeURIComponent(callId)}/audio.ws`);
  socket.binaryType = "arraybuffer";
  let rate = 8000, samples = 0, playAt = 0;
  socket.onmessage = (message) => {
    if (typeof message.data === "string") {
      const info = JSON.parse(message.data);
      if (info.sample_rate) rate = info.sample_rate;
      if (info.ended && meter()) meter().textContent += " · ended";
      return;
    }
    const pcm = new Int16Array(message.data);
    samples += pcm.length;
    if (meter()) meter().textContent = `audio: ${(samples / rate).toFixed(1)} s`;
    if (!context) return;
    const buffer = context.createBuffer(1, pcm.length, rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
    const node = context.createBufferSource();
    node.buffer = buffer;
    node.connect(context.destination);
    playAt = Math.max(playAt, context.currentTime + 0.05);
    node.start(playAt);
    playAt += buffer.duration;
  };
  return { close() { socket.close(); if (context) context.close(); } };
}

// ------------------------------------------------------------------ routing between views

function route() {
  if (current) current.close();
  const hash = location.hash || "#/";
  const session = hash.match(/^#\/sessions\/(\d+)/);
  if (session) current = sessionView(Number(session[1]));
  else if (hash.startsWith("#/call")) current = callView();
  else current = overviewView();
}

window.addEventListener("hashchange", route);
route();
