// The REST API page: each operation's form sends its call with the pasted token and shows the answer.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-api-call]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var path = form.dataset.path;
      var query = new URLSearchParams();
      var headers = { Authorization: "Bearer " + document.getElementById("api-token").value };
      form.querySelectorAll("input[data-in]").forEach(function (input) {
        if (input.dataset.in === "path") {
          path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
        } else if (input.value && input.dataset.in === "query") {
          query.append(input.name, input.value);
        } else if (input.value && input.dataset.in === "header") {
          headers[input.name] = input.value;
        }
      });
      var options = { method: form.dataset.method, headers: headers };
      if (form.elements.body) {
        options.body = form.elements.body.value;
        headers["Content-Type"] = "application/json";
      }
      var answer = form.querySelector("[data-api-answer]");
      fetch(path + (query.toString() ? "?" + query : ""), options)
        .then(function (response) {
          return response.text().then(function (text) {
            answer.textContent = response.status + " " + response.statusText + "\n" + text;
            answer.hidden = false;
          });
        })
        .catch(function (error) {
          answer.textContent = String(error);
          answer.hidden = false;
        });
    });
  });
});
