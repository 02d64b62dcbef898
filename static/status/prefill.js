// The QR code on the letter opens /verifier/#CODE: copy the code from the fragment (which browsers
// never send to a server) into the field, then drop the fragment from the address bar and history.
(function () {
  var field = document.getElementById("id_code");
  var fragment = window.location.hash.replace(/^#/, "");
  if (!field || !fragment) { return; }
  var code = decodeURIComponent(fragment).replace(/[^0-9A-Za-z-]/g, "").slice(0, 24).toUpperCase();
  if (code) { field.value = code; }
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  var next = document.getElementById("id_day");
  if (next && code) { next.focus(); }
})();
