// Progressive enhancement: refresh the queue figures in place. Every page works
// without it.
(function () {
  "use strict";
  var box = document.getElementById("queues");
  if (!box || !window.fetch) { return; }
  var every = parseInt(box.getAttribute("data-refresh"), 10) || 5;
  var src = box.getAttribute("data-src");
  function refresh() {
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { /* keep the last figures */ })
      .finally(function () { setTimeout(refresh, every * 1000); });
  }
  setTimeout(refresh, every * 1000);
})();
