/* Quick exit: leave for a neutral page at once, on a click or on Shift pressed three times in
   a row within a second, replacing this page in the history so "Back" does not return to it.
   Without this script the button is a plain link to the same page. */
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) {
    return;
  }
  var target = link.href;
  var WINDOW_MS = 1000;
  var presses = [];

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    document.documentElement.classList.add("quick-exit-leaving");
    window.location.replace(target);
  }

  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.repeat) {
      return;
    }
    if (event.key !== "Shift") {
      presses = [];  // typing capital letters is not a request to leave
      return;
    }
    var now = Date.now();
    presses = presses.filter(function (time) { return now - time < WINDOW_MS; });
    presses.push(now);
    if (presses.length >= 3) {
      presses = [];
      leave();
    }
  });
})();
