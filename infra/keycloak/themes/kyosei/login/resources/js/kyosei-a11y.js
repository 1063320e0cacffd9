/* The password step shows the username typed on the first step as a read-only field, #kc-attempted-username,
   under a label written for="username" — an id no element on that step has, so the field has no accessible name
   (axe: "label", WCAG 1.3.1 / 4.1.2). The label is pointed at the field that is actually there. */
document.addEventListener("DOMContentLoaded", function () {
  var shown = document.getElementById("kc-attempted-username");
  if (!shown || document.getElementById("username")) { return; }
  var label = document.querySelector("label[for='username']");
  if (label) {
    label.setAttribute("for", "kc-attempted-username");
  } else {
    shown.setAttribute("aria-label", "ユーザー名");
  }
});
