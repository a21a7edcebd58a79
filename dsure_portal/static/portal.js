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
