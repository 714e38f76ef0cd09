// Behaviour for the pages, loaded as a file: the Content-Security-Policy allows no inline scripts or handlers.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A button marked data-print prints the page (the admission ticket).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
