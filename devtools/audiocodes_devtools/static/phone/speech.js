// The browser's speech: recognition for the caller, synthesis for the bot, honouring what it can of the
// bot's session parameters (AudioCodes VoiceAI Connect "bot parameters": language / sttLanguage /
// ttsLanguage, voiceName, bargeIn, userNoInputTimeoutMS). Without the APIs the page falls back to typing.
"use strict";

const Speech = (() => {
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  const canSpeak = "speechSynthesis" in window;
  const available = { listen: Boolean(Recognition), speak: canSpeak };

  // SSML the bot may send is read as plain text; <break> becomes a pause-like comma.
  const plain = (text) => text.replace(/<break\b[^>]*>/gi, ", ").replace(/<[^>]+>/g, "");

  class Voice {
    constructor({ onHeard, onNoInput, onNote }) {
      this.onHeard = onHeard; this.onNoInput = onNoInput; this.onNote = onNote;
      this.params = {}; this.enabled = false; this.speaking = 0; this.timer = null; this.recognition = null;
    }
    setParams(params) { this.params = params; }
    language() { return this.params.sttLanguage || this.params.language || document.getElementById("language").value; }
    enable(on) {
      this.enabled = on;
      if (!on) { this.stopListening(); if (canSpeak) speechSynthesis.cancel(); this.clearTimer(); return; }
      if (!available.listen) this.onNote("no speech recognition in this browser: type instead");
      this.listen();
    }
    say(text) {
      if (!this.enabled || !canSpeak || !text) { this.afterBot(); return; }
      const utterance = new SpeechSynthesisUtterance(plain(text));
      utterance.lang = this.params.ttsLanguage || this.params.language || this.language();
      const voice = speechSynthesis.getVoices().find((v) => v.name === this.params.voiceName);
      if (voice) utterance.voice = voice;
      this.speaking += 1;
      utterance.onend = utterance.onerror = () => { this.speaking -= 1; if (!this.speaking) this.afterBot(); };
      // Without barge-in the caller is not heard while the bot speaks (VAIC's default, bargeIn false).
      if (!this.params.bargeIn) this.stopListening();
      speechSynthesis.speak(utterance);
    }
    afterBot() {
      if (!this.enabled) return;
      this.listen();
      this.clearTimer();
      const ms = Number(this.params.userNoInputTimeoutMS);
      if (ms > 0) this.timer = setTimeout(() => { this.timer = null; this.onNoInput(); }, ms);
    }
    clearTimer() { if (this.timer) { clearTimeout(this.timer); this.timer = null; } }
    listen() {
      if (!available.listen || this.recognition) return;
      const recognition = new Recognition();
      recognition.lang = this.language(); recognition.continuous = true; recognition.interimResults = false;
      recognition.onresult = (event) => {
        const result = event.results[event.results.length - 1][0];
        this.clearTimer();
        if (this.speaking && canSpeak) speechSynthesis.cancel();  // barge-in: the caller interrupts the bot
        this.onHeard(result.transcript, result.confidence || 0.9);
      };
      let failed = false;
      recognition.onerror = (event) => { failed = event.error !== "no-speech"; this.onNote(`speech recognition: ${event.error}`); };
      // Recognition stops by itself now and then: listen again (after a pause if it failed, e.g. offline).
      recognition.onend = () => {
        if (this.recognition !== recognition) return;
        this.recognition = null;
        setTimeout(() => { if (this.enabled && !this.speaking) this.listen(); }, failed ? 2000 : 0);
      };
      this.recognition = recognition;
      try { recognition.start(); } catch (error) { this.onNote(`speech recognition: ${error.message}`); }
    }
    stopListening() { const r = this.recognition; this.recognition = null; if (r) r.abort(); }
  }
  return { Voice, available, plain };
})();
