// Consult agent desk: a chime and a desktop notification when someone needs the agent and the
// desk is not in front of them. Permission is asked once, from a button the agent presses.
"use strict";

const notifier = {
  audio: null,
  sound: localStorage.getItem("consult.desk.sound") !== "off",
  // Browsers start audio only after a gesture; the first click or key on the desk unlocks it.
  unlock() {
    if (this.audio || !window.AudioContext) return;
    try { this.audio = new AudioContext(); } catch { this.audio = null; }
  },
  chime() {
    if (!this.sound || !this.audio) return;
    const ctx = this.audio;
    const at = ctx.currentTime;
    for (const [i, f] of [[0, 880], [1, 1320]]) {
      const o = ctx.createOscillator();
      const g = ctx.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, at + i * 0.16);
      g.gain.exponentialRampToValueAtTime(0.15, at + i * 0.16 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, at + i * 0.16 + 0.3);
      o.connect(g).connect(ctx.destination);
      o.start(at + i * 0.16);
      o.stop(at + i * 0.16 + 0.32);
    }
  },
  permission() {
    return "Notification" in window ? Notification.permission : "unsupported";
  },
  async ask() {
    localStorage.setItem("consult.desk.asked", "1");
    if (this.permission() === "default") await Notification.requestPermission();
  },
  // Whether the "turn on alerts" button still has something to ask.
  shouldOffer() {
    return this.permission() === "default" && !localStorage.getItem("consult.desk.asked");
  },
  // `key` collapses repeats (one notification per chat).
  alert(title, text, key, onClick) {
    this.chime();
    if (!document.hidden || this.permission() !== "granted") return;
    try {
      const n = new Notification(title, { body: text, tag: key, renotify: true });
      n.onclick = () => { window.focus(); if (onClick) onClick(); n.close(); };
    } catch { /* some browsers only notify from a service worker */ }
  },
  setSound(on) {
    this.sound = on;
    localStorage.setItem("consult.desk.sound", on ? "on" : "off");
  },
};
