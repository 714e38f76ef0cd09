// The mock exam's clock: counts down from the seconds the server sent (never from the device's clock) and reloads
// the page when they run out, so that the server grades the paper. Loaded as a file (the CSP allows no inline code).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const timer = document.getElementById("mock-timer");
  if (!timer) {
    return;
  }
  const clock = timer.querySelector("[data-clock]");
  const remaining = Number.parseInt(timer.dataset.remaining || "0", 10);
  const started = performance.now();
  const show = () => {
    const left = Math.max(0, remaining - Math.floor((performance.now() - started) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    clock.textContent = `${minutes}:${seconds}`;
    if (left <= 300) {
      timer.classList.add("text-danger");
    }
    if (left === 0) {
      window.clearInterval(tick);
      // A second's grace so that the server's clock has passed the deadline too when the page comes back.
      window.setTimeout(() => window.location.reload(), 1000);
    }
  };
  const tick = window.setInterval(show, 1000);
  show();
});
