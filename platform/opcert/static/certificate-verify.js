// A phone's camera opened the QR code's address: the sealed payload is in the fragment (never sent to the
// server by the browser). Put it in the form and submit it, once.
(function () {
  "use strict";
  var hash = window.location.hash;
  if (!hash || hash.indexOf("OC1:") === -1) { return; }
  var form = document.getElementById("qr-verify");
  if (!form) { return; }
  var field = form.querySelector("textarea");
  if (!field) { return; }
  field.value = hash.slice(1);
  history.replaceState(null, "", window.location.pathname);
  form.submit();
})();
