// Personal data must not outlive a login in this browser tab. htmx keeps pages it swapped (names, addresses)
// in sessionStorage for the back button; Kyosei sets historyCacheSize to 0 so nothing is kept, and this script
// removes whatever an older page left there when the user logs out and on the logged-out page.
(function () {
  "use strict";
  function forget() {
    try { sessionStorage.removeItem("htmx-history-cache"); } catch (e) { /* storage disabled: nothing kept */ }
    try { localStorage.removeItem("htmx-history-cache"); } catch (e) { /* htmx 1.x kept it here */ }
  }
  if (document.documentElement.hasAttribute("data-logged-out")) { forget(); }
  document.addEventListener("submit", function (event) {
    if (event.target && event.target.matches && event.target.matches("form.logout")) { forget(); }
  }, true);
})();
