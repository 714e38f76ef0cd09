// The theory exam's seat page. Every answer is queued in localStorage, sent to the server in sequence and counted
// as saved only when the server acknowledges it; the queue survives a reload, a crashed browser and an outage and
// is sent again when the server answers. The clock shown counts down from the server's remaining time.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("exam");
  if (!root) return;
  const d = root.dataset;
  const key = `opcert-exam-${d.attempt}`;
  const load = () => {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      if (value && Array.isArray(value.queue)) return value;
    } catch (e) { /* a damaged entry is started afresh */ }
    return { seq: 0, queue: [] };
  };
  const local = load();
  const persist = () => localStorage.setItem(key, JSON.stringify(local));
  const serverAnswers = JSON.parse(d.answers || "{}");
  let status = d.status;
  let remaining = d.remaining === "" ? null : parseInt(d.remaining, 10);
  let since = performance.now();
  let busy = false;
  let finishing = false;
  let stopped = false;
  local.seq = Math.max(local.seq, parseInt(d.lastSeq, 10) || 0, ...local.queue.map((e) => e.seq));
  persist();

  const inputs = (n) => root.querySelectorAll(`input[name="q${n}"]`);
  const badge = (n) => root.querySelector(`.save-state[data-number="${n}"]`);
  const queued = (n) => local.queue.some((e) => e.number === n);
  const show = (n, answer) => { for (const i of inputs(n)) i.checked = answer.includes(i.value); };
  const mark = (n) => {
    const b = badge(n);
    if (!b) return;
    const answered = Array.from(inputs(n)).some((i) => i.checked);
    const pending = queued(n);
    b.textContent = pending ? d.textUnsaved : (answered ? d.textSaved : "");
    b.className = `badge save-state ${pending ? "text-bg-warning" : "text-bg-success"}`;
    b.dataset.state = pending ? "unsaved" : (answered ? "saved" : "empty");
  };
  const count = () => {
    const el = document.getElementById("unsaved-count");
    el.textContent = `${d.textUnsaved} ${local.queue.length}`;
    el.classList.toggle("d-none", local.queue.length === 0);
    el.dataset.count = String(local.queue.length);
  };
  const net = (ok) => {
    const el = document.getElementById("net-state");
    el.textContent = ok ? d.textOnline : d.textOffline;
    el.className = `small ${ok ? "text-success" : "text-danger"}`;
    el.dataset.online = ok ? "1" : "0";
  };
  const banner = () => {
    const el = document.getElementById("exam-banner");
    const text = status === "seated" ? d.textWaiting : status === "paused" ? d.textPaused : "";
    el.textContent = text;
    el.classList.toggle("d-none", !text);
    for (const i of root.querySelectorAll("fieldset.question input")) i.disabled = status !== "answering";
  };
  const apply = (state) => {
    if (!state) return;
    status = state.status;
    if (state.remaining !== null && state.remaining !== undefined) {
      remaining = state.remaining;
      since = performance.now();
    }
    root.dataset.credited = String(state.credited || 0);
    banner();
    if (status === "submitted") done();
  };
  const done = () => {
    if (stopped) return;
    stopped = true;
    localStorage.removeItem(key);
    window.location.assign(d.doneUrl);
  };
  // The seat's binding is gone (an invigilator moved the candidate, or the cookie expired): say so and go back to
  // the sign-in form; answers still queued here stay in localStorage and are sent after signing in again here.
  const released = () => {
    if (stopped) return;
    stopped = true;
    const el = document.getElementById("exam-banner");
    el.textContent = d.textReleased;
    el.className = "alert alert-warning";
    for (const i of root.querySelectorAll("fieldset.question input")) i.disabled = true;
    setTimeout(() => window.location.assign(d.seatUrl), 4000);
  };
  const post = (url, body) => fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": d.csrf },
    body: JSON.stringify(body || {}),
  });

  // Show the server's answers, then the ones still waiting here (they are newer).
  for (const [n, answer] of Object.entries(serverAnswers)) show(parseInt(n, 10), answer);
  for (const e of local.queue) show(e.number, e.answer);
  for (const f of root.querySelectorAll("fieldset.question")) mark(parseInt(f.dataset.number, 10));
  count();
  banner();

  const renumber = (expected) => {
    let seq = expected;
    for (const e of local.queue) { e.seq = seq; seq += 1; }
    local.seq = seq - 1;
    persist();
  };
  const flush = async () => {
    if (busy || stopped || !local.queue.length) {
      if (finishing && !busy && !local.queue.length) submit();
      return;
    }
    busy = true;
    const entry = local.queue[0];
    let retry = 0;
    try {
      const response = await post(d.saveUrl, entry);
      const body = await response.json().catch(() => null);
      if (response.ok && body && body.ok) {
        local.queue.shift();
        persist();
        net(true);
        apply(body.state);
        mark(entry.number);
      } else if (response.status === 409 && body) {
        net(true);
        if (body.code === "time_up" || body.code === "submitted") done();
        else if (body.expected) renumber(body.expected);
        else if (body.code === "bad_answer" || body.code === "not_in_paper") { local.queue.shift(); persist(); mark(entry.number); }
        else retry = 2000;
      } else if (response.status === 400 && body) {
        local.queue.shift();
        persist();
        mark(entry.number);
      } else if (response.status === 404) {
        released();
      } else {
        net(false);
        retry = 1000;
      }
    } catch (e) {
      net(false);
      retry = 1000;
    }
    busy = false;
    count();
    setTimeout(flush, retry);
  };

  root.addEventListener("change", (event) => {
    const field = event.target.closest("fieldset.question");
    if (!field || status !== "answering") return;
    const n = parseInt(field.dataset.number, 10);
    const answer = Array.from(inputs(n)).filter((i) => i.checked).map((i) => i.value).join("");
    local.seq += 1;
    local.queue.push({ seq: local.seq, number: n, answer });
    persist();
    mark(n);
    count();
    flush();
  });

  const submit = async () => {
    if (stopped) return;
    try {
      const response = await post(d.submitUrl);
      const body = await response.json().catch(() => null);
      if (body && (body.ok || body.code === "submitted")) { done(); return; }
      if (response.status === 404) { released(); return; }
    } catch (e) { net(false); }
    setTimeout(submit, 2000);
  };
  const finish = () => {
    finishing = true;
    flush();
  };
  document.getElementById("submit-exam").addEventListener("click", () => {
    if (window.confirm(d.textConfirm)) finish();
  });

  const beat = async () => {
    try {
      const response = await post(d.heartbeatUrl);
      const body = await response.json().catch(() => null);
      if (response.ok && body) { net(true); apply(body.state); flush(); } else if (response.status === 404) released(); else net(false);
    } catch (e) { net(false); }
  };
  setInterval(beat, (parseInt(d.heartbeat, 10) || 10) * 1000);
  window.addEventListener("online", () => { beat(); flush(); });

  const tick = () => {
    const timer = document.getElementById("timer");
    if (remaining === null) { timer.textContent = "--:--"; return; }
    const left = Math.max(0, Math.round(remaining - (performance.now() - since) / 1000));
    timer.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    timer.dataset.seconds = String(left);
    // Time is up on this clock: the server decides (it may have credited time back) and submits.
    if (left === 0 && status === "answering" && performance.now() - lastSync > 2000) {
      lastSync = performance.now();
      flush();
      beat();
    }
  };
  let lastSync = 0;
  setInterval(tick, 500);
  tick();
  flush();
});
