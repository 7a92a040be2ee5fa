// The caller side of the AudioCodes Bot API in HTTP mode, as devtools/audiocodes_devtools/vaic.py plays it
// (reference: /work/shared/reference/audiocodes-bot-api.md sections 2 and 3; AudioCodes "Bot API" docs:
// create conversation, activities, refresh, disconnect, websocketURL). Strict like vaic.py: an answer
// a real VAIC could not rely on raises.
"use strict";

const Vaic = (() => {
  const utc = () => new Date().toISOString();  // ISO 8601 UTC with milliseconds and Z, as VAIC stamps
  const stamp = (activity) => ({ id: crypto.randomUUID(), timestamp: utc(), ...activity });

  class BotError extends Error {}

  function checkActivities(conversation, payload) {
    if (payload === null || typeof payload !== "object" || Array.isArray(payload))
      throw new BotError("answer is not a JSON object");
    if ("conversation" in payload && payload.conversation !== conversation)
      throw new BotError(`answer names conversation ${payload.conversation}`);
    const activities = payload.activities || [];
    if (!Array.isArray(activities)) throw new BotError("answer activities is not a list");
    for (const a of activities) {
      if (!a || typeof a.id !== "string" || !a.id) throw new BotError("bot activity lacks a string id");
      if (a.type !== "message" && a.type !== "event") throw new BotError("bot activity type is neither message nor event");
    }
    return activities;
  }

  class Call {
    constructor(botUrl, token, conversation, answer) {
      this.botUrl = botUrl; this.token = token; this.conversation = conversation;
      for (const key of ["activitiesURL", "refreshURL", "disconnectURL"])
        if (typeof answer[key] !== "string" || !answer[key]) throw new BotError(`create answer lacks a string ${key}`);
      // VAIC resolves the URLs against the bot URL (RFC 3986), like vaic.resolve_url.
      this.activitiesUrl = new URL(answer.activitiesURL, botUrl).href;
      this.refreshUrl = new URL(answer.refreshURL, botUrl).href;
      this.disconnectUrl = new URL(answer.disconnectURL, botUrl).href;
      this.expiresSeconds = answer.expiresSeconds;
      this.websocketUrl = answer.websocketURL ? new URL(answer.websocketURL, botUrl).href.replace(/^http/, "ws") : null;
      this.lastPostAt = null;
    }
    async send(...activities) {
      const stamped = activities.map(stamp);
      this.lastPostAt = performance.now();
      const answer = await post(this.activitiesUrl, this.token, { conversation: this.conversation, activities: stamped });
      return { sent: stamped, received: checkActivities(this.conversation, answer) };
    }
    start(caller, callee, language) {
      return this.send({
        type: "event", name: "start", language,
        parameters: { caller, callee, callerHost: "sip.example.com", calleeHost: "vaic.example.com",
                      callerDisplayName: caller, vaigConversationId: this.conversation },
      });
    }
    say(text, confidence = 0.9) { return this.send({ type: "message", text, parameters: { confidence } }); }
    event(name, value) { return this.send(value === undefined ? { type: "event", name } : { type: "event", name, value }); }
    async refresh() {
      const answer = await post(this.refreshUrl, this.token, { conversation: this.conversation });
      if (Number.isInteger(answer.expiresSeconds) && answer.expiresSeconds > 0) this.expiresSeconds = answer.expiresSeconds;
      return this.expiresSeconds;
    }
    disconnect(reasonCode, reason) {
      return post(this.disconnectUrl, this.token, { conversation: this.conversation, reasonCode, reason });
    }
  }

  async function post(url, token, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;  // no header at all for an empty token (reference 2.1)
    const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new BotError(`HTTP ${response.status}: ${text.slice(0, 300)}`);
    try { return JSON.parse(text); } catch { throw new BotError(`answer is not JSON: ${text.slice(0, 300)}`); }
  }

  async function create(botUrl, token) {
    const conversation = crypto.randomUUID();
    const answer = await post(botUrl, token, stamp({ conversation }));
    return new Call(botUrl, token, conversation, answer);
  }

  return { create, checkActivities, BotError };
})();
