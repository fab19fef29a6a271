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

  // Evidence uploads with a progress bar: <form data-upload-progress> holding a hidden
  // [data-progress-for-form] box. The form goes by XMLHttpRequest so the browser can report the
  // bytes sent. With the X-Upload-Progress header the server answers a finished upload with
  // {"redirect": url}, which the page follows (so the flash message is shown there), and a form
  // with errors with the page itself, whose body replaces this one. Files over data-max-bytes
  // are refused before anything is sent. Without this script the form posts normally.
  function setupUploadProgress() {
    if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) return;
    document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
      var box = form.querySelector("[data-progress-for-form]");
      if (!box) return;
      var bar = box.querySelector("progress");
      var text = box.querySelector(".upload-progress-text");
      var error = box.querySelector(".upload-error");
      function enableButtons() {
        setTimeout(function () {  // after setupSubmitOnce has disabled them
          form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = false; });
        }, 0);
      }
      function fail(message) {
        error.textContent = message;
        error.hidden = false;
        box.hidden = false;
        enableButtons();
      }
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) return;
        var files = [], tooBig = null;
        form.querySelectorAll("input[type=file]").forEach(function (input) {
          var max = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
          Array.prototype.forEach.call(input.files || [], function (file) {
            files.push(file);
            if (max && file.size > max && !tooBig) tooBig = file;
          });
        });
        if (!files.length) return;  // nothing to upload: the ordinary submission is fine
        event.preventDefault();
        error.hidden = true;
        if (tooBig) { fail(tooBig.name + "：" + error.getAttribute("data-too-large")); return; }
        var data = new FormData(form);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("X-Upload-Progress", "1");
        xhr.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable) return;
          var percent = Math.min(100, Math.round(e.loaded * 100 / e.total));
          bar.value = percent;
          text.textContent = percent + "%";
        });
        xhr.addEventListener("load", function () {
          var type = xhr.getResponseHeader("Content-Type") || "";
          if (type.indexOf("application/json") === 0) {
            var answer = null;
            try { answer = JSON.parse(xhr.responseText); } catch (ignored) { answer = null; }
            if (answer && answer.redirect) { window.location.assign(answer.redirect); return; }
          } else if (type.indexOf("text/html") === 0) {
            var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
            document.title = page.title;
            document.body.replaceWith(document.adoptNode(page.body));
            init();
            var firstError = document.querySelector(".has-error input, .has-error textarea, .has-error select, [role=alert]");
            if (firstError) { if (firstError.focus) firstError.focus(); firstError.scrollIntoView({block: "center"}); }
            return;
          }
          fail(error.getAttribute("data-failed"));
        });
        xhr.addEventListener("error", function () { fail(error.getAttribute("data-failed")); });
        bar.value = 0;
        text.textContent = "0%";
        box.hidden = false;
        xhr.send(data);
      });
    });
  }

  // The registration proof of work (ALTCHA v1), asked for only when an address registers often:
  // <div data-pow-challenge='{"algorithm","challenge","maxNumber","salt","signature"}'> in a form
  // with <input name="challenge">: find n with SHA-256(salt + n) == challenge, then submit.
  function setupProofOfWork() {
    var box = document.querySelector("[data-pow-challenge]");
    if (!box || !window.crypto || !window.crypto.subtle) return;
    var task = JSON.parse(box.getAttribute("data-pow-challenge"));
    var form = box.closest("form"), field = form.querySelector("input[name=challenge]");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    var encoder = new TextEncoder();
    function hex(buffer) {
      return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    function attempt(n) {
      if (n > task.maxNumber) { box.textContent = box.getAttribute("data-failed-text"); return; }
      crypto.subtle.digest("SHA-256", encoder.encode(task.salt + n)).then(function (digest) {
        if (hex(digest) !== task.challenge) { attempt(n + 1); return; }
        field.value = btoa(JSON.stringify({
          algorithm: task.algorithm, challenge: task.challenge, number: n, salt: task.salt, signature: task.signature
        }));
        box.textContent = box.getAttribute("data-done-text");
        button.disabled = false;
      });
    }
    attempt(0);
  }

  function init() {
    setupCopy(); setupCountdowns(); setupFileInfo(); setupChatShortcut(); setupSubmitOnce(); setupUploadProgress();
    setupProofOfWork();
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(init);
})();
