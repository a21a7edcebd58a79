// The only script besides htmx. Everything works without it; it only adds comfort.
document.addEventListener("htmx:afterSwap", function (event) {
  // Move focus to swapped-in content that asks for it, so keyboard users follow along.
  var target = event.detail.target && event.detail.target.querySelector("[data-focus]");
  if (target) { target.focus(); }
});

// A print button on the print view ([data-print], hidden until this script shows it).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});

// The lookup page opened from a notice's QR code: /lookup#n=<number>&k=<key>. The fragment
// never reaches a server; the fields are filled and the clerk still presses 照会する. The
// fragment is then dropped from the address bar so the key stays out of the history.
document.addEventListener("DOMContentLoaded", function () {
  var number = document.getElementById("contract_number");
  var key = document.getElementById("auth_key");
  if (!number || !key || location.hash.length < 2) { return; }
  var params = new URLSearchParams(location.hash.slice(1));
  if (!params.get("n") && !params.get("k")) { return; }
  number.value = (params.get("n") || "").slice(0, 40);
  key.value = (params.get("k") || "").slice(0, 40);
  history.replaceState(null, "", location.pathname + location.search);
  var submit = number.form.querySelector("button[type=submit]");
  if (submit) { submit.focus(); }
});

// Dropping a notice PDF on the notice form puts it in the file field (then 読み取って照会).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("notice-form");
  var input = form && form.querySelector("input[type=file]");
  if (!input) { return; }
  var status = document.getElementById("notice-dropped");
  function show(text) { if (status) { status.textContent = text; status.hidden = !text; } }
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (event) {
      event.preventDefault();
      form.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function () { form.classList.remove("dragging"); });
  });
  form.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) { return; }
    var chosen = new DataTransfer();
    chosen.items.add(files[0]);
    input.files = chosen.files;
    show("「" + files[0].name + "」を選びました。「読み取って照会」を押してください。");
    var submit = form.querySelector("button[type=submit]");
    if (submit) { submit.focus(); }
  });
  input.addEventListener("change", function () { show(""); });
});

// Signing in on the way from a notice's QR code: keep the fragment for the lookup page
// (a redirect without a fragment of its own keeps the one of the URL that was asked for).
document.addEventListener("DOMContentLoaded", function () {
  if (!/[#&]n=/.test(location.hash)) { return; }
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    var action = form.getAttribute("action") || "";
    if (/[?&]next=(%2F|\/)lookup(&|$)/.test(action)) { form.setAttribute("action", action + location.hash); }
  });
});
