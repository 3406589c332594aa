/* The case worker's document viewer, a little better with JavaScript: the arrow keys (outside the text) turn
   the pages and + / - zoom, by following the page's own links; without JavaScript those links work as they are. */
(function () {
  "use strict";
  function follow(selector) {
    var link = document.querySelector(selector);
    if (link && link.href) {
      window.location.href = link.href;
      return true;
    }
    return false;
  }
  function zoomBy(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll(".viewer-zoom a"));
    var current = links.findIndex(function (link) { return link.hasAttribute("aria-current"); });
    var next = links[current + step];
    if (next) {
      window.location.href = next.href;
    }
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var target = event.target;
    if (target && (target.id === "viewer-text" || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      return;
    }
    var inSheet = target && target.id === "viewer-sheet";
    if ((event.key === "ArrowRight" && !inSheet) || event.key === "PageDown") {
      if (follow("#viewer-next")) { event.preventDefault(); }
    } else if ((event.key === "ArrowLeft" && !inSheet) || event.key === "PageUp") {
      if (follow("#viewer-previous")) { event.preventDefault(); }
    } else if (event.key === "+") {
      zoomBy(1);
    } else if (event.key === "-") {
      zoomBy(-1);
    }
  });
})();
