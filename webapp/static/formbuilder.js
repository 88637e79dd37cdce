// The web-form builder: drag items by their handle to reorder them (the arrows do the same without a mouse),
// and reload the live preview whenever the server says the form changed (HX-Trigger: form-changed).
(function () {
  "use strict";

  var dragged = null;

  function itemOf(element) {
    return element && element.closest ? element.closest("li[data-item-id]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) return;
    dragged = itemOf(handle);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.itemId);
    event.dataTransfer.setDragImage(dragged, 10, 10);
    dragged.classList.add("dragging");
  });

  document.addEventListener("dragover", function (event) {
    var over = itemOf(event.target);
    if (!dragged || !over || over.parentNode !== dragged.parentNode) return;
    event.preventDefault();
    if (over === dragged) return;
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });

  document.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    var list = dragged.parentNode;
    dragged.classList.remove("dragging");
    dragged = null;
    var order = Array.prototype.map.call(list.querySelectorAll("li[data-item-id]"), function (item) {
      return item.dataset.itemId;
    }).join(",");
    if (order === list.dataset.order || !list.dataset.orderUrl) return;
    window.htmx.ajax("POST", list.dataset.orderUrl, {
      source: list, target: "#items", swap: "outerHTML", values: { order: order }
    });
  });

  document.body.addEventListener("form-changed", function () {
    var frame = document.getElementById("form-preview");
    if (frame && frame.contentWindow) frame.contentWindow.location.reload();
  });
})();
