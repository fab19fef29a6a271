/* kameng pages: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Copy buttons next to card keys: <button data-copy="element-id" hidden>.
  function setupCopy() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (!target) return;
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          var original = button.textContent;
          button.textContent = button.getAttribute("data-copied") || "✓";
          setTimeout(function () { button.textContent = original; }, 1500);
        });
      });
    });
  }

  // Live countdowns: <span data-countdown-seconds="3600" data-expired-text="...">.
  function setupCountdowns() {
    var nodes = document.querySelectorAll("[data-countdown-seconds]");
    if (!nodes.length) return;
    var started = Date.now();
    var lang = document.documentElement.lang || "zh-hans";
    var en = lang.indexOf("en") === 0;
    function format(seconds) {
      var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
      var parts = [];
      if (d) parts.push(en ? d + (d === 1 ? " day" : " days") : d + " 天");
      if (h) parts.push(en ? h + (h === 1 ? " hour" : " hours") : h + " 小时");
      if (!d) parts.push(en ? Math.max(m, 1) + (m === 1 ? " minute" : " minutes") : Math.max(m, 1) + " 分钟");
      return parts.join(" ");
    }
    function tick() {
      var elapsed = Math.floor((Date.now() - started) / 1000);
      nodes.forEach(function (node) {
        var left = parseInt(node.getAttribute("data-countdown-seconds"), 10) - elapsed;
        node.textContent = left > 0 ? format(left) : (node.getAttribute("data-expired-text") || "");
      });
    }
    setInterval(tick, 30000);
  }

  // Show the chosen stock file's name and size before the preview step.
  function setupFileInfo() {
    document.querySelectorAll("input[type=file][data-file-info]").forEach(function (input) {
      var out = document.getElementById(input.getAttribute("data-file-info"));
      if (!out) return;
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        out.textContent = file ? file.name + " (" + Math.ceil(file.size / 1024) + " KB)" : "";
      });
    });
  }

  // Ctrl/⌘+Enter sends a chat message from the textarea.
  function setupChatShortcut() {
    document.querySelectorAll("textarea[data-submit-shortcut]").forEach(function (area) {
      area.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && area.form) {
          event.preventDefault();
          if (area.form.requestSubmit) area.form.requestSubmit(); else area.form.submit();
        }
      });
    });
  }

  // Forms that move money or goods (<form data-submit-once>) cannot be sent twice by a double
  // click: the buttons are disabled right after the browser has taken the form's data.
  function setupSubmitOnce() {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        setTimeout(function () {
          form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
            b.disabled = true;
          });
        }, 0);
      });
    });
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () { setupCopy(); setupCountdowns(); setupFileInfo(); setupChatShortcut(); setupSubmitOnce(); });
})();
