// The call inspector: past calls from the local analytics table (GET /_phone/api/calls and /transcript).
"use strict";

const OUTCOME_COLOURS = { message: "#14c", silent: "#888", transfer: "#a50", hangup: "#0a4",
                          disconnect: "#6a0", error: "#c00", dropped: "#c0c" };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Each turn a dot: x its start time, y its latency, colour its outcome; a legend below.
function chart(turns) {
  const width = 760, height = 220, left = 50, bottom = 30, top = 10;
  const root = svg("svg", { width, height: height + 24, id: "latency-chart", role: "img" });
  if (!turns.length) { root.append(svg("text", { x: left, y: 40 }, "no turns yet")); return root; }
  const times = turns.map((t) => t.at), latencies = turns.map((t) => t.latencyMs);
  const t0 = Math.min(...times), t1 = Math.max(...times), maxMs = Math.max(1, ...latencies);
  const x = (t) => left + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (width - left - 10);
  const y = (ms) => height - bottom - (ms / maxMs) * (height - bottom - top);
  root.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: "#999" }));
  root.append(svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, stroke: "#999" }));
  root.append(svg("text", { x: 2, y: top + 10, "font-size": 11 }, `${maxMs} ms`));
  root.append(svg("text", { x: 2, y: height - bottom, "font-size": 11 }, "0 ms"));
  root.append(svg("text", { x: left, y: height - 8, "font-size": 11 }, new Date(t0 * 1000).toISOString().slice(0, 19)));
  root.append(svg("text", { x: width - 130, y: height - 8, "font-size": 11 }, new Date(t1 * 1000).toISOString().slice(0, 19)));
  for (const turn of turns) {
    const dot = svg("circle", { cx: x(turn.at), cy: y(turn.latencyMs), r: 4, fill: OUTCOME_COLOURS[turn.outcome] || "#000",
                                class: "turn", "data-outcome": turn.outcome });
    dot.append(svg("title", {}, `${turn.conversation} #${turn.turn}: ${turn.outcome}, ${turn.latencyMs} ms`));
    root.append(dot);
  }
  let lx = left;
  for (const outcome of [...new Set(turns.map((t) => t.outcome))]) {
    root.append(svg("circle", { cx: lx, cy: height + 14, r: 4, fill: OUTCOME_COLOURS[outcome] || "#000" }));
    root.append(svg("text", { x: lx + 8, y: height + 18, "font-size": 11 }, outcome));
    lx += 110;
  }
  return root;
}

async function loadInspector() {
  const endpoint = $("inspect-endpoint").value;
  if (!endpoint) return;
  const response = await fetch(`/_phone/api/calls?endpoint=${encodeURIComponent(endpoint)}`);
  const answer = await response.json();
  if (!response.ok) { $("summary").tBodies[0].replaceChildren(row(["error", answer.message])); return; }
  const s = answer.summary;
  $("summary").tBodies[0].replaceChildren(
    ...[["calls", s.calls], ["turns", s.turns], ["average turns", s.average_turns], ["transfers", s.transfers],
        ["bot hang-ups", s.hangups], ["caller hang-ups", s.caller_hangups], ["flow errors", s.errors],
        ["average latency", `${s.average_latency_ms} ms`],
        ["top intents", s.top_intents.map(([n, c]) => `${n} ${c}`).join(", ") || "-"],
        ["disconnect reasons", s.disconnect_reasons.map(([n, c]) => `${n} ${c}`).join(", ") || "-"]].map(row));
  $("chart").replaceChildren(chart(answer.turns));
  $("calls").tBodies[0].replaceChildren(...answer.calls.map((c) => {
    const tr = row([new Date(c.startedAt * 1000).toISOString().replace("T", " ").slice(0, 19), c.conversation, c.turns,
                    c.outcome + (c.outcomeDetail ? `: ${c.outcomeDetail}` : ""), c.meanLatencyMs, c.intents.join(", ")]);
    tr.dataset.conversation = c.conversation;
    tr.onclick = () => loadTranscript(endpoint, c.conversation);
    return tr;
  }));
}

async function loadTranscript(endpoint, conversation) {
  const response = await fetch(`/_phone/api/transcript?endpoint=${encodeURIComponent(endpoint)}&conversation=${encodeURIComponent(conversation)}`);
  const { turns } = await response.json();
  $("transcript-id").textContent = conversation;
  $("transcript").tBodies[0].replaceChildren(...turns.map((t) => row([
    t.turn, new Date(t.started_at * 1000).toISOString().slice(11, 23), heard(t), t.bot_text,
    t.intent ? `${t.intent} (${(t.intent_score || 0).toFixed(2)})` : "", (t.node_path || []).join(" → "),
    t.outcome + (t.outcome_detail ? `: ${t.outcome_detail}` : ""), t.latency_ms])));
}

function showView() {
  const inspector = location.hash === "#inspector";
  $("phone-view").hidden = inspector;
  $("inspector-view").hidden = !inspector;
  if (inspector) loadInspector();
}

window.addEventListener("hashchange", showView);
$("inspect-reload").onclick = loadInspector;
$("inspect-endpoint").onchange = loadInspector;

