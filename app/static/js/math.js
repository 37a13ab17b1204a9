// Typeset the math that lessons and questions keep as TeX (<span class="math inline">, <div class="math block">).
// KaTeX comes from npm (static/vendor/katex) and adds MathML for screen readers; without JavaScript
// the TeX source stays readable.
(function () {
  "use strict";
  function typeset(root) {
    if (!window.katex) { return; }
    root.querySelectorAll(".math.inline, .math.block").forEach(function (el) {
      if (el.dataset.typeset) { return; }
      var tex = el.textContent;
      try {
        window.katex.render(tex, el, { displayMode: el.classList.contains("block"), throwOnError: false });
        el.dataset.typeset = "1";
      } catch (e) { /* leave the TeX source in place */ }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { typeset(document); });
  document.addEventListener("htmx:afterSwap", function (event) { typeset(event.target); });
})();
