// The access-log option applies to the court exhibit bundle only: while another template is
// chosen, the checkbox is greyed out and not sent. Without JavaScript it stays a checkbox and
// the server explains if it is ticked with another template.
(function () {
  "use strict";
  var box = document.querySelector('input[name="include_access_log"]');
  if (!box || !box.form) return;
  var option = box.closest(".access-log-option");
  var radios = box.form.querySelectorAll('input[name="template"]');
  function update() {
    var chosen = box.form.querySelector('input[name="template"]:checked');
    var court = !!chosen && chosen.value === "court";
    box.disabled = !court;
    if (option) option.classList.toggle("off", !court);
  }
  for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", update);
  update();
})();
