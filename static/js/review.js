// Review page: click a cell or a paragraph of the report to anchor a comment there.
(function () {
  "use strict";
  const doc = document.getElementById("review-document");
  if (!doc) return;
  const selects = document.querySelectorAll(".anchor-select");
  function anchorTo(ref, label) {
    selects.forEach((select) => {
      let option = Array.from(select.options).find((o) => o.value === ref);
      if (!option) {
        option = new Option(label, ref);
        select.add(option);
      }
      select.value = ref;
    });
    const box = document.querySelector("#comment-form textarea");
    if (box) box.focus();
  }
  doc.addEventListener("click", (event) => {
    const cell = event.target.closest("td[data-ref]");
    if (cell) {
      doc.querySelectorAll(".anchored").forEach((el) => el.classList.remove("anchored"));
      cell.classList.add("anchored");
      anchorTo(cell.dataset.ref, "单元格 " + cell.dataset.ref);
      return;
    }
    const part = event.target.closest("[data-path]");
    if (part) anchorTo("narrative." + part.dataset.path, "段落 " + part.dataset.path);
  });
  document.querySelectorAll(".comment[data-anchor]").forEach((card) => {
    const target = doc.querySelector('td[data-ref="' + CSS.escape(card.dataset.anchor) + '"]');
    if (target) target.classList.add("has-comment");
  });
})();
