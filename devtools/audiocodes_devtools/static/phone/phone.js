// The browser phone: one call at a time, every activity on the timeline, the turn records beside it.
// Endings follow devtools/audiocodes_devtools/phone.py: a bot `hangup` ends the call; a `transfer` /
// `handover` asks answered / failed, and a failed one goes back to the bot as `transferStatus`
// (AudioCodes VAIG_Combined/transfer-status.htm).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { endpoints: [], relay: "", call: null, endpoint: null, socket: null, silences: 0,
                params: {}, refreshTimer: null, turnsTimer: null, chain: Promise.resolve() };
const voice = new Speech.Voice({
  onHeard: (text, confidence) => act(`you > ${text}`, (call) => call.say(text, confidence), () => { state.silences = 0; }),
  onNoInput: () => silence(),
  onNote: (text) => { $("speech-note").textContent = text; },
});

const clock = () => new Date().toISOString().slice(11, 23);

function line(kind, text, extra) {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = `${clock()} ${text}`;
  if (extra) { const span = document.createElement("span"); span.className = "delay"; span.textContent = ` ${extra}`; item.append(span); }
  $("timeline").append(item);
  item.scrollIntoView({ block: "nearest" });
}

function describe(activity) {
  const params = activity.activityParams ? ` ${JSON.stringify(activity.activityParams)}` : "";
  if (activity.type === "message") return `bot < ${activity.text}${params}`;
  const value = activity.value === undefined ? "" : ` value=${JSON.stringify(activity.value)}`;
  return `bot ~ ${activity.name}${value}${params}`;
}

function setStatus(text) { $("status").textContent = text; }

function inCall(on) {
  for (const id of ["hangup", "say", "say-send", "silence"]) $(id).disabled = !on;
  for (const b of $("keypad").querySelectorAll("button")) b.disabled = !on;
  $("call").disabled = on;
  $("endpoint").disabled = on;
  $("inject-row").hidden = !(on && state.endpoint && state.endpoint.injectKey);
}

function mergeParams(activities) {
  for (const a of activities) if (a.sessionParams) Object.assign(state.params, a.sessionParams);
  const body = $("params").tBodies[0];
  body.replaceChildren(...Object.entries(state.params).map(([k, v]) => row([k, JSON.stringify(v)])));
  voice.setParams(state.params);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) { const td = document.createElement("td"); td.textContent = cell ?? ""; tr.append(td); }
  return tr;
}

// Bot activities from an HTTP answer or a WebSocket frame: show, apply, speak, and see whether the call ends.
function receive(activities, how) {
  mergeParams(activities);
  for (const a of activities) line("in", describe(a), how);
  for (const a of activities) if (a.type === "message") voice.say(a.text);
  if (!activities.some((a) => a.type === "message")) voice.afterBot();
  const ending = activities.find((a) => a.type === "event" && ["hangup", "transfer", "handover"].includes(a.name));
  if (!ending) return;
  const params = ending.activityParams || {};
  if (ending.name === "hangup") { end("bot-disconnected", String(params.hangupReason || "Bot hangup")); return; }
  $("transfer-target").textContent = params.transferTarget || "(no transferTarget)";
  $("transfer").hidden = false;
  setStatus("transfer offered");
}

// Caller actions run one after another, like VAIC's single activities channel per call.
function act(label, send, before) {
  state.chain = state.chain.then(async () => {
    const call = state.call;
    if (!call) return;
    if (before) before();
    voice.clearTimer();
    line("out", label);
    try {
      const { received } = await send(call);
      const mode = call.websocketUrl ? "HTTP answer" : null;
      receive(received, mode);
    } catch (error) {
      line("info", `error: ${error.message}`);
    }
    loadTurns();
  });
  return state.chain;
}

function silence() {
  state.silences += 1;  // noUserInput counts consecutive timeouts; speech or DTMF resets it
  const n = state.silences;
  return act(`you ~ noUserInput ${n}`, (call) => call.event("noUserInput", n));
}

async function placeCall() {
  const endpoint = state.endpoints.find((e) => e.urlToken === $("endpoint").value);
  state.endpoint = endpoint; state.params = {}; state.silences = 0;
  $("timeline").replaceChildren(); $("turns").tBodies[0].replaceChildren(); mergeParams([]);
  setStatus("calling");
  try {
    const call = await Vaic.create(endpoint.botUrl, endpoint.token);
    state.call = call;
    line("info", `conversation ${call.conversation} (${call.websocketUrl ? "HTTP + WebSocket" : "HTTP"}, expires in ${call.expiresSeconds}s)`);
    $("status").dataset.conversation = call.conversation;
    if (call.websocketUrl) await openSocket(call, endpoint);
    scheduleRefresh();
    state.turnsTimer = setInterval(loadTurns, 1500);
    inCall(true);
    setStatus("in call");
    await act(`you ~ start (caller ${$("caller").value})`, (c) => c.start($("caller").value, "+493040739365", $("language").value));
  } catch (error) {
    line("info", `error: ${error.message}`);
    setStatus("call failed");
  }
}

function openSocket(call, endpoint) {
  const url = `${state.relay}/?endpoint=${encodeURIComponent(endpoint.urlToken)}&target=${encodeURIComponent(call.websocketUrl)}`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = () => { line("info", "WebSocket open"); resolve(); };
    socket.onerror = () => reject(new Error("WebSocket failed"));
    socket.onclose = (event) => line("info", `WebSocket closed (${event.code}${event.reason ? ", " + event.reason : ""})`);
    socket.onmessage = (event) => {
      const delay = call.lastPostAt === null ? "" : `(+${Math.round(performance.now() - call.lastPostAt)} ms after the last POST)`;
      try { receive(Vaic.checkActivities(call.conversation, JSON.parse(event.data)), `WS ${delay}`); }
      catch (error) { line("info", `bad WebSocket frame: ${error.message}`); }
      loadTurns();
    };
  });
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  const call = state.call;
  // Halfway to expiry, as phone.py does (VAIC's exact schedule is undocumented, reference 2.5).
  state.refreshTimer = setTimeout(async () => {
    if (state.call !== call) return;
    try { line("info", `refreshed, expires in ${await call.refresh()}s`); } catch (error) { line("info", `refresh: ${error.message}`); }
    scheduleRefresh();
  }, call.expiresSeconds * 500);
}

function end(reasonCode, reason) {
  state.chain = state.chain.then(async () => {
    const call = state.call;
    if (!call) return;
    state.call = null;
    clearTimeout(state.refreshTimer); clearInterval(state.turnsTimer); voice.clearTimer();
    $("transfer").hidden = true;
    line("out", `you ~ disconnect ${reasonCode} (${reason})`);
    try { await call.disconnect(reasonCode, reason); } catch (error) { line("info", `disconnect: ${error.message}`); }
    if (state.socket) { state.socket.close(); state.socket = null; }
    inCall(false);
    setStatus(`ended: ${reasonCode}`);
    $("inspect-endpoint").value = state.endpoint.urlToken;  // the inspector opens on the endpoint just called
    setTimeout(() => loadTurns(call.conversation), 300);
  });
}

async function loadTurns(conversation) {
  const id = conversation || (state.call && state.call.conversation);
  if (!id || !state.endpoint) return;
  const response = await fetch(`/_phone/api/transcript?endpoint=${encodeURIComponent(state.endpoint.urlToken)}&conversation=${encodeURIComponent(id)}`);
  if (!response.ok) return;
  const { turns } = await response.json();
  $("turns").tBodies[0].replaceChildren(...turns.map((t) => row([
    t.turn, heard(t), t.intent ? `${t.intent} (${(t.intent_score || 0).toFixed(2)})` : "",
    (t.node_path || []).join(" → "), t.outcome + (t.outcome_detail ? `: ${t.outcome_detail}` : ""), t.latency_ms,
  ])));
}

function heard(turn) {
  if (turn.caller_text == null) return `[${turn.event || turn.input_type}]`;
  return turn.input_type === "event" && (turn.event || "").toUpperCase() === "DTMF" ? `DTMF ${turn.caller_text}` : turn.caller_text;
}

async function post(kind) {
  const call = state.call;
  if (!call) return;
  const text = $("inject-text").value;
  const response = await fetch(`/v2.0/endpoint/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-API-Key": state.endpoint.injectKey, "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify({ URLToken: state.endpoint.urlToken, sessionId: call.conversation, ...(text ? { text } : {}) }),
  });
  call.lastPostAt = performance.now();  // the WebSocket delay of what this causes counts from here
  const answer = `${kind} ${response.status} ${await response.text()}`;
  $("inject-answer").textContent = answer;
  line("out", `other system ~ ${kind} "${text}" -> ${response.status}`);
}

function keypad() {
  for (const key of "123456789*0#") {
    const button = document.createElement("button");
    button.textContent = key; button.dataset.key = key; button.disabled = true;
    button.onclick = () => act(`you # ${key}`, (call) => call.event("DTMF", key), () => { state.silences = 0; });
    $("keypad").append(button);
  }
}

async function init() {
  keypad();
  const { endpoints, relay } = await (await fetch("/_phone/api/endpoints")).json();
  state.endpoints = endpoints; state.relay = relay;
  for (const select of [$("endpoint"), $("inspect-endpoint")])
    select.replaceChildren(...endpoints.map((e) => new Option(e.urlToken, e.urlToken)));
  $("call").onclick = placeCall;
  $("hangup").onclick = () => end("client-disconnected", "Client Side");
  $("say-form").onsubmit = (event) => {
    event.preventDefault();
    const text = $("say").value.trim();
    $("say").value = "";
    if (text) act(`you > ${text}`, (call) => call.say(text), () => { state.silences = 0; });
  };
  $("silence").onclick = () => silence();
  $("transfer-answered").onclick = () => {
    $("transfer").hidden = true;
    end("transferred", `transferred to ${$("transfer-target").textContent}`);
  };
  $("transfer-failed").onclick = () => {
    $("transfer").hidden = true;
    setStatus("in call");
    const code = $("transfer-reason").value;
    const status = { status: "failed", reasonCode: code, reason: `transfer failed: ${code}` };
    act(`you ~ transferStatus failed (${code})`, (call) => call.event("transferStatus", status));
  };
  $("inject").onclick = () => post("inject");
  $("notify").onclick = () => post("notify");
  $("speech").onchange = () => voice.enable($("speech").checked);
  if (!Speech.available.listen) $("speech-note").textContent = "this browser has no speech recognition: type instead";
  showView();
  document.body.dataset.ready = "true";
}

// After every script of the page has run: init() uses the inspector's showView().
document.addEventListener("DOMContentLoaded", init);
