// Follows background jobs (ADR 0009): every element with data-job-status
// polls that JSON endpoint until the job is done, then
//   data-job-done="navigate": opens the job's result (the import preview),
//   data-job-done="reload":   reloads the page (a publication, an export).
// A failed job's message goes to #job-error (or the element's data-job-error target);
// a job that reports its progress shows it in the element's [data-job-progress].
(function () {
  "use strict";

  function follow(el) {
    var url = el.getAttribute("data-job-status");
    var then = el.getAttribute("data-job-done") || "reload";
    var delay = 800;

    function showError(message) {
      var target = document.getElementById(el.getAttribute("data-job-error") || "job-error");
      if (target) {
        target.textContent = message || "处理失败。";
        target.classList.remove("d-none");
      }
      el.classList.add("d-none");
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (job) {
          if (!job.done) {
            var label = el.querySelector("[data-job-label]");
            if (label) label.textContent = job.label;
            // Jobs that say how far they are (an archive: 读取 3/12：…).
            var progress = el.querySelector("[data-job-progress]");
            if (progress && job.progress) progress.textContent = job.progress;
            delay = Math.min(delay * 1.5, 5000);
            window.setTimeout(poll, delay);
          } else if (job.status === "succeeded") {
            if (then === "navigate" && job.url) window.location.assign(job.url);
            else window.location.reload(); // the page itself shows where a finished job led
          } else {
            showError(job.error);
          }
        })
        .catch(function () {
          // The network or a restarting server: keep asking, more slowly.
          delay = Math.min(delay * 2, 10000);
          window.setTimeout(poll, delay);
        });
    }

    window.setTimeout(poll, delay);
  }

  document.querySelectorAll("[data-job-status]").forEach(follow);
})();
