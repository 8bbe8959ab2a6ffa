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

  // Suggestions while typing: /api/suggest fills the box's <datalist>, which the browser shows
  // under the box and lets the reader pick by keyboard or touch. Not while an IME is composing.
  if (box && box.list && box.dataset.suggest && window.fetch) {
    var list = box.list;
    var timer = null;
    var asked = "";
    var controller = null;
    function fill(words) {
      while (list.firstChild) list.removeChild(list.firstChild);
      words.forEach(function (word) {
        var option = document.createElement("option");
        option.value = word;
        list.appendChild(option);
      });
    }
    function ask() {
      var text = box.value.trim();
      if (!text || text === asked) return;
      asked = text;
      if (controller && controller.abort) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      fetch(box.dataset.suggest + "?q=" + encodeURIComponent(text), controller ? { signal: controller.signal } : {})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (words) { if (box.value.trim() === text) fill(words); })
        .catch(function () {});
    }
    box.addEventListener("input", function (event) {
      if (event.isComposing) return;
      clearTimeout(timer);
      timer = setTimeout(ask, 80);
    });
    box.addEventListener("compositionend", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 80);
    });
  }
})();
