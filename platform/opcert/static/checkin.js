// The desk's camera: show the live picture and, on one click, capture a burst of frames into the form's file
// field, then submit it. Loaded as a file (the Content-Security-Policy forbids inline scripts). Without a camera
// the file field stays usable (a phone's photo).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("capture-form");
  if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  const video = form.querySelector("video");
  const canvas = form.querySelector("canvas");
  const input = form.querySelector("input[type=file]");
  const state = form.querySelector("[data-camera-state]");
  const count = parseInt(form.dataset.burst || "5", 10);
  const gap = parseInt(form.dataset.burstMs || "200", 10);
  let live = false;
  navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false }).then((stream) => {
    video.srcObject = stream;
    video.classList.remove("d-none");
    live = true;
    if (state) state.textContent = state.dataset.live || "";
  }).catch(() => { live = false; });

  const frame = () => new Promise((resolve) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(resolve, "image/jpeg", 0.92);
  });
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  form.addEventListener("submit", async (event) => {
    if (!live || (input.files && input.files.length)) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const files = new DataTransfer();
    for (let i = 0; i < count; i += 1) {
      const blob = await frame();
      files.items.add(new File([blob], `frame${i}.jpg`, { type: "image/jpeg" }));
      if (i + 1 < count) await wait(gap);
    }
    input.files = files.files;
    form.submit();
  });
});
