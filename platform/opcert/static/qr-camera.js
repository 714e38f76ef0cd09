// The verification page's camera: frames go to the server, which reads a QR code with OpenCV; once one is read,
// its text is submitted as the QR verification (the seal is checked, logged and throttled there).
(function () {
  "use strict";
  var button = document.getElementById("qr-camera-start");
  var form = document.getElementById("qr-verify");
  var video = document.getElementById("qr-camera-video");
  var status = document.getElementById("qr-camera-status");
  if (!button || !form || !video || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  var tokenField = form.querySelector("input[name$='csrf_token']");
  var textField = form.querySelector("textarea");
  var canvas = document.createElement("canvas");
  var stream = null;
  var timer = null;
  var busy = false;
  button.hidden = false;

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
  }

  function answered(answer) {
    if (answer && answer.error) {  // too many frames from this address: say how long to wait, stop the camera
      stop();
      busy = false;
      status.textContent = answer.error;
      return;
    }
    if (answer && answer.found && stream) {
      stop();
      textField.value = answer.text;
      form.submit();
      return;
    }
    busy = false;
  }

  function sendFrame() {
    if (busy || video.readyState < 2 || !video.videoWidth) { return; }
    busy = true;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      if (!blob) { busy = false; return; }
      var data = new FormData();
      data.append("frame", blob, "frame.jpg");
      fetch(button.dataset.frameUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": tokenField ? tokenField.value : "" }
      }).then(function (response) { return response.json(); }).then(answered, function () { busy = false; });
    }, "image/jpeg", 0.92);
  }

  button.addEventListener("click", function () {
    if (stream) { return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      video.play();
      status.textContent = button.dataset.searching;
      timer = setInterval(sendFrame, 400);
    }, function () {
      status.textContent = button.dataset.denied;
    });
  });
  window.addEventListener("pagehide", stop);
})();
