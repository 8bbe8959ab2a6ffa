// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 900px)");

  // The filter panel is sent closed (on a phone the results come first, with or without this
  // script); on a wide screen it is a column beside the results, which CSS shows whole. Opening it
  // there too serves browsers whose CSS cannot; it moves nothing, as the column is beside the results.
  var filters = document.getElementById("filters");
  function placeFilters() {
    if (filters) filters.open = wide.matches;
  }
  placeFilters();
  if (wide.addEventListener) wide.addEventListener("change", placeFilters);

  // The timeline's bars are one tab stop: Tab reaches the current bar (or the last one with
  // articles), the arrow keys, Home and End move between bars, Enter follows one. Without this
  // script each bar is an ordinary link.
  var chart = document.querySelector(".timeline-chart");
  if (chart) {
    var bars = Array.prototype.slice.call(chart.querySelectorAll("a.timeline-bar"));
    var start = chart.querySelector('a.timeline-bar[aria-current="true"]');
    if (!start) {
      var filled = bars.filter(function (bar) { return bar.getAttribute("data-count") !== "0"; });
      start = filled[filled.length - 1] || bars[bars.length - 1];
    }
    function rove(to) {
      bars.forEach(function (bar) { bar.setAttribute("tabindex", bar === to ? "0" : "-1"); });
    }
    rove(start);
    chart.addEventListener("keydown", function (event) {
      var at = bars.indexOf(event.target);
      if (at < 0) return;
      var to = { ArrowLeft: at - 1, ArrowUp: at - 1, ArrowRight: at + 1, ArrowDown: at + 1, Home: 0, End: bars.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      to = Math.max(0, Math.min(bars.length - 1, to));
      rove(bars[to]);
      bars[to].focus();
    });
    chart.addEventListener("focusin", function (event) {
      if (bars.indexOf(event.target) >= 0) rove(event.target);
    });
  }

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
