/* Kyosei's htmx conventions, for every page (docs/ui-conventions.md).

   htmx swaps only 2xx answers by default, so a refusal (403, 409…) or a dropped connection used to leave the user
   clicking a button that "did nothing". Here:
   - a page reached by a boosted link or a GET that fails is shown as the error page it is (swapped in whole);
   - a refused action (POST and friends) keeps the page and shows the server's Japanese message in a message
     region at the top of the form the user acted in (or the page's flash region), and moves focus there;
   - a form sent back with errors (re-rendered, status 200 or 422) is swapped in and focus moves to its summary;
   - a network failure or a timeout says 「通信できませんでした」 in the same place. */
(function () {
  "use strict";

  var NETWORK_TITLE = "通信できませんでした";
  var NETWORK_MESSAGE = "ネットワークの接続を確認して、もう一度お試しください。入力した内容はまだ送信されていません。";

  function regionFor(elt) {
    var form = elt && elt.closest ? elt.closest("form") : null;
    var flashes = document.getElementById("flashes");
    var host = form || flashes || document.getElementById("content") || document.body;
    var region = host.querySelector(":scope > .action-refusal");
    if (!region) {
      region = document.createElement("div");
      region.className = "flash flash--error action-refusal";
      region.setAttribute("role", "alert");
      region.tabIndex = -1;
      host.insertBefore(region, host.firstChild);
    }
    return region;
  }

  function show(elt, title, message, details) {
    var region = regionFor(elt);
    region.replaceChildren();
    var level = document.createElement("span");
    level.className = "flash__level";
    level.textContent = "エラー";
    var text = document.createElement("span");
    text.className = "flash__message";
    var strong = document.createElement("strong");
    strong.textContent = title;
    text.appendChild(strong);
    if (message) {
      text.appendChild(document.createElement("br"));
      text.appendChild(document.createTextNode(message));
    }
    if (details && details.length) {
      var list = document.createElement("ul");
      details.forEach(function (d) {
        var item = document.createElement("li");
        item.textContent = d;
        list.appendChild(item);
      });
      text.appendChild(list);
    }
    region.append(level, text);
    region.focus();
  }

  function clear(elt) {
    var form = elt && elt.closest ? elt.closest("form") : null;
    var scope = form || document;
    scope.querySelectorAll(".action-refusal").forEach(function (r) { r.remove(); });
  }

  // What the server said: error.html's title and message, or a problem+json's title and detail.
  function refusalText(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("json") >= 0) {
      try {
        var problem = JSON.parse(xhr.responseText);
        return { title: problem.title || "この操作はできません", message: problem.detail || "" };
      } catch (e) { /* fall through to the generic text */ }
    }
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var page = doc.querySelector(".error-page");
    if (page) {
      var title = page.querySelector("h1");
      var message = page.querySelector(".error-page__message");
      var details = Array.prototype.map.call(page.querySelectorAll(".error-page__fields li"),
        function (li) { return li.textContent.trim(); });
      return { title: title ? title.textContent.trim() : "この操作はできません",
               message: message ? message.textContent.trim() : "", details: details };
    }
    return { title: "この操作はできません", message: "エラー " + xhr.status };
  }

  function isFormPage(xhr) {
    // A form re-rendered with its errors carries the error summary; an error page does not.
    var text = xhr.responseText || "";
    return text.indexOf('id="form-errors"') >= 0 || text.indexOf("data-refusal") >= 0;
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var d = evt.detail;
    if (d.xhr.status < 400) { return; }
    var verb = (d.requestConfig && d.requestConfig.verb) || "get";
    var boosted = d.requestConfig && d.requestConfig.boosted;
    if (isFormPage(d.xhr) || (verb === "get" && boosted)) {
      d.shouldSwap = true;   // the form with its messages, or the error page the user navigated to
      d.isError = false;
      return;
    }
    var said = refusalText(d.xhr);
    show(d.requestConfig ? d.requestConfig.elt : d.elt, said.title, said.message, said.details);
  });

  document.addEventListener("htmx:beforeRequest", function (evt) { clear(evt.detail.elt); });

  function networkFailure(evt) { show(evt.detail.elt, NETWORK_TITLE, NETWORK_MESSAGE); }
  document.addEventListener("htmx:sendError", networkFailure);
  document.addEventListener("htmx:timeout", networkFailure);

  // After a swap, a form's error summary takes focus, so a screen reader reads it and the keyboard starts there.
  // The summary of a form's errors, or a refusal the page itself shows (data-refusal, e.g. an eligibility refusal).
  function focusSummary() {
    var summary = document.querySelector("#form-errors, [data-refusal]");
    if (summary && document.activeElement !== summary && !summary.dataset.announced) {
      summary.dataset.announced = "1";
      summary.tabIndex = -1;
      summary.focus();
    }
  }
  document.addEventListener("htmx:afterSettle", focusSummary);
  // A summary link moves the keyboard to its field (a fieldset: its first control), not just the scroll position.
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("#form-errors a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target) { return; }
    var control = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
    if (control) {
      evt.preventDefault();
      control.focus();
      control.scrollIntoView({ block: "center" });
    }
  });
  document.addEventListener("DOMContentLoaded", focusSummary);
})();
