// Review page: click a cell or a paragraph of the report to anchor a comment there.
// Places are named by their statutory labels (#anchor-labels), never by their refs.
// A click moves the comment form's position only; the 退回 form's position changes
// when the reviewer chooses it (its select, or the button offering the clicked place).
(function () {
  "use strict";
  const doc = document.getElementById("review-document");
  if (!doc) return;
  const labelsNode = document.getElementById("anchor-labels");
  const labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};
  const commentSelect = document.getElementById("c-anchor");
  const returnSelect = document.getElementById("return-anchor");
  const useForReturn = document.getElementById("return-use-anchor");

  function option(select, ref, label) {
    let found = Array.from(select.options).find((o) => o.value === ref);
    if (!found) {
      found = new Option(label, ref);
      select.add(found);
    }
    return found;
  }

  function anchorTo(ref) {
    const label = labels[ref];
    if (!label) return; // not a place a comment can sit
    if (commentSelect) {
      option(commentSelect, ref, label);
      commentSelect.value = ref;
    }
    if (returnSelect && useForReturn) {
      option(returnSelect, ref, label);
      if (returnSelect.value !== ref) {
        useForReturn.dataset.ref = ref;
        useForReturn.querySelector("span").textContent = label;
        useForReturn.classList.remove("d-none");
      } else {
        useForReturn.classList.add("d-none");
      }
    }
    const box = document.querySelector("#comment-form textarea");
    if (box) box.focus();
  }

  if (useForReturn && returnSelect) {
    useForReturn.addEventListener("click", () => {
      returnSelect.value = useForReturn.dataset.ref;
      useForReturn.classList.add("d-none");
      returnSelect.focus();
    });
    returnSelect.addEventListener("change", () => useForReturn.classList.add("d-none"));
  }

  doc.addEventListener("click", (event) => {
    const cell = event.target.closest("td[data-ref]");
    if (cell) {
      doc.querySelectorAll(".anchored").forEach((el) => el.classList.remove("anchored"));
      cell.classList.add("anchored");
      anchorTo(cell.dataset.ref);
      return;
    }
    const part = event.target.closest("[data-path]");
    if (part) anchorTo("narrative." + part.dataset.path);
  });
  document.querySelectorAll(".comment[data-anchor]").forEach((card) => {
    const target = doc.querySelector('td[data-ref="' + CSS.escape(card.dataset.anchor) + '"]');
    if (target) target.classList.add("has-comment");
  });
})();
