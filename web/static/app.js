// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 900px)");

  // The filter panel is always open on wide screens; on a phone it starts closed, so the results
  // come first (the filters in use are shown above them either way).
  var filters = document.getElementById("filters");
  function placeFilters() {
    if (filters) filters.open = wide.matches;
  }
  placeFilters();
  if (wide.addEventListener) wide.addEventListener("change", placeFilters);

  // "/" jumps to the search box, as on many sites; Escape leaves it.
  var box = document.getElementById("q");
  document.addEventListener("keydown", function (event) {
    if (!box || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && target === box) {
      box.blur();
    }
  });
})();
