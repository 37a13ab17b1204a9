// A table or a displayed formula wider than its column scrolls inside its own box (thetapath.css)
// instead of the whole page scrolling sideways on a phone. Chromium and Firefox let the keyboard reach
// such a box by themselves, Safari only when it is focusable: a box that scrolls gets tabindex="0"
// (and loses it again when the window grows wide enough). Without JavaScript the box still scrolls.
(function () {
  "use strict";
  var BOXES = "table, pre, .katex-display";
  function mark(root) {
    root.querySelectorAll(BOXES).forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.dataset.scrolls = "1";
      } else if (!scrolls && box.dataset.scrolls) {
        box.removeAttribute("tabindex");
        delete box.dataset.scrolls;
      }
    });
  }
  var pending = 0;
  function soon() {
    window.cancelAnimationFrame(pending);
    pending = window.requestAnimationFrame(function () { mark(document); });
  }
  // after math.js has typeset (its listener was added first), and again once images have their size
  document.addEventListener("DOMContentLoaded", function () { mark(document); });
  document.addEventListener("htmx:afterSettle", function () { mark(document); });
  window.addEventListener("load", soon);
  window.addEventListener("resize", soon);
})();
