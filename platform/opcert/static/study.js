// The lesson page's study clock. It only reports what the page sees (visible, in use, video segments played);
// the server decides what counts, by its own clock. Loaded as a file: the CSP allows no inline scripts.
"use strict";
(() => {
  const root = document.getElementById("study");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const beatMs = Number(root.dataset.beatSeconds) * 1000;
  const idleMs = Number(root.dataset.idleSeconds) * 1000;
  const rateMax = Number(root.dataset.rateMax) || 1;
  const status = document.getElementById("study-status");
  const credited = document.getElementById("study-credited");
  const video = document.getElementById("lesson-video");
  const panel = document.getElementById("face-check");
  const faceVideo = document.getElementById("face-video");
  const faceGo = document.getElementById("face-go");
  const faceResult = document.getElementById("face-result");
  let token = null;
  let seq = 0;
  let lastInput = performance.now();
  let segments = [];
  let lastPos = null;
  let stream = null;

  const say = (text) => { status.textContent = text; };
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body),
  }).then((r) => r.json().catch(() => ({ ok: false, message: r.statusText })));

  for (const name of ["keydown", "mousemove", "mousedown", "touchstart", "scroll", "wheel"]) {
    window.addEventListener(name, () => { lastInput = performance.now(); }, { passive: true });
  }
  const playing = () => Boolean(video && !video.paused && !video.ended);

  // Segments joined where they touch or overlap, in order, at most 50 (what the server accepts in one heartbeat).
  const merged = (list) => {
    const out = [];
    for (const [start, end] of [...list].sort((a, b) => a[0] - b[0])) {
      const last = out[out.length - 1];
      if (last && start <= last[1] + 1e-6) last[1] = Math.max(last[1], end);
      else out.push([start, end]);
    }
    return out.slice(0, 50);
  };

  if (video) {
    // Only continuous playback at no more than the rate cap is reported: a seek, a pause or a faster rate starts
    // a new segment and credits nothing by itself. Steps of one stretch are joined (timeupdate fires 4 times a
    // second: one segment each would exceed the 50 a heartbeat may carry, and the server refuses the lot).
    const normalSpeed = () => video.playbackRate > 0 && video.playbackRate <= rateMax;
    const cut = () => { lastPos = null; };
    for (const name of ["seeking", "pause", "ratechange", "ended"]) video.addEventListener(name, cut);
    video.addEventListener("timeupdate", () => {
      const pos = video.currentTime;
      const counting = playing() && normalSpeed() && !video.seeking;
      if (counting && lastPos !== null && pos > lastPos && pos - lastPos < 1.5) {
        segments = merged([...segments, [lastPos, pos]]);
      }
      lastPos = counting ? pos : null;
    });
  }

  // A heartbeat that got no answer (network down, a proxy error) changes nothing here: the same number is sent
  // again with the segments not yet counted, and the page says it is waiting for the network. If the server did
  // count it and only the answer was lost, it answers "replayed" with the number it holds, and the page goes on
  // from there. A lease lost meanwhile (the clock stopped during a long cut) is taken again.
  const offline = () => { root.dataset.state = "offline"; say(root.dataset.offlineText); };
  const start = () => post(root.dataset.startUrl, {}).then((answer) => {
    if (!answer.ok) { root.dataset.state = "refused"; say(answer.message); return; }
    token = answer.token;
    seq = answer.seq;
    root.dataset.state = "counting";
    say(root.dataset.countingText);
  }, offline);

  const beat = () => {
    const played = segments;
    segments = [];
    const keep = () => { segments = merged([...played, ...segments]); };
    return post(root.dataset.beatUrl, {
      token, seq: seq + 1, played,
      visible: document.visibilityState === "visible",
      active: playing() || performance.now() - lastInput < idleMs,
    }).then((answer) => {
      if (answer.ok) {
        seq += 1;
        root.dataset.state = "counting";
        if (answer.lesson_text) credited.textContent = answer.lesson_text;
        say(answer.reason || root.dataset.countingText);
        if (answer.check_due || answer.blocked) showCheck();
        return;
      }
      if (!answer.code) { keep(); offline(); return; }
      root.dataset.state = "refused";
      say(answer.message);
      if (answer.code === "replayed" && Number.isInteger(answer.seq)) { seq = answer.seq; keep(); }
      if (answer.code === "not_lease") token = null;
    }, () => { keep(); offline(); });
  };

  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    (token ? beat() : start()).finally(() => { busy = false; });
  };

  const showCheck = () => {
    if (!panel.classList.contains("d-none")) return;
    panel.classList.remove("d-none");
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then((s) => {
        stream = s;
        faceVideo.srcObject = s;
      }).catch(() => { faceResult.textContent = root.dataset.noCameraText; });
    }
  };

  const grab = () => new Promise((resolve) => {
    const canvas = document.createElement("canvas");
    canvas.width = faceVideo.videoWidth;
    canvas.height = faceVideo.videoHeight;
    canvas.getContext("2d").drawImage(faceVideo, 0, 0);
    canvas.toBlob(resolve, "image/jpeg", 0.92);
  });
  const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  faceGo.addEventListener("click", async () => {
    if (!stream || !token) return;
    faceGo.disabled = true;
    const form = new FormData();
    let previous = null;
    for (let i = 0; i < 3; i += 1) {
      const blob = await grab();
      // A frozen camera repeats a frame byte for byte: it is sent once (the server refuses repeats as replays).
      const bytes = new Uint8Array(await blob.arrayBuffer());
      const same = previous && previous.length === bytes.length && previous.every((b, n) => b === bytes[n]);
      if (!same) form.append("frame", blob, `frame${i}.jpg`);
      previous = bytes;
      await wait(250);
    }
    form.append("token", token);
    const answer = await fetch(root.dataset.faceUrl, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: form,
    }).then((r) => r.json().catch(() => ({ ok: false, message: r.statusText })));
    faceGo.disabled = false;
    faceResult.textContent = answer.message;
    faceResult.dataset.outcome = answer.ok ? (answer.passed ? "passed" : "failed") : "refused";
    if (answer.ok && answer.passed) {
      panel.classList.add("d-none");
      if (stream) { for (const track of stream.getTracks()) track.stop(); stream = null; }
    }
  });

  window.addEventListener("pagehide", () => {
    if (!token) return;
    const form = new FormData();
    form.append("token", token);
    form.append("csrf_token", csrf);
    navigator.sendBeacon(root.dataset.stopUrl, form);
  });

  busy = true;
  start().finally(() => { busy = false; setInterval(tick, beatMs); });
})();
