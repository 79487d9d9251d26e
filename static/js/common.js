// Helpers every page script shares: building elements, JSON requests with the
// API's error messages, and the text of values (as catalogue/values.py writes
// them on the server). templates/base.html and the print view load this file
// before any page script; each page script keeps only its own code.
// Text from data reaches the page through textContent only.
(function () {
  "use strict";

  const HS = (window.HS = {});

  // An element with text (never parsed as HTML) and a class.
  HS.el = function (tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  };

  // The session's CSRF token (base.html's meta tag): every write sends it.
  HS.csrfToken = function () {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // JSON from the API; rejects with the API's own message on an error status, or with
  // the page's message for that status (`messages`, e.g. {401: "请先登录。"}), and the
  // status as the error's `status`.
  HS.fetchJson = function (url, options, messages) {
    return fetch(url, options).then((response) =>
      response
        .json()
        .catch(() => ({}))
        .then((body) => {
          if (!response.ok) {
            const own = messages && messages[response.status];
            const error = new Error(own || body.error || "HTTP " + response.status);
            error.status = response.status; // e.g. the offline queue: refused (4xx) or not (5xx)
            throw error;
          }
          return body;
        })
    );
  };

  HS.getJson = function (url, messages, accept) {
    return HS.fetchJson(url, { headers: { Accept: accept || "application/json" } }, messages);
  };

  // A random key for one submission (the Idempotency-Key header): a retry with the same
  // key is stored once. crypto.getRandomValues works on plain HTTP too (randomUUID does not).
  HS.idempotencyKey = function () {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  // POSTs `data` as JSON with the CSRF token (and `key` as its Idempotency-Key, if given).
  HS.postJson = function (url, data, messages, key) {
    const headers = { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": HS.csrfToken() };
    if (key) headers["Idempotency-Key"] = key;
    const options = { method: "POST", headers: headers, body: JSON.stringify(data), credentials: "same-origin" };
    return HS.fetchJson(url, options, messages);
  };

  // POSTs a record: as JSON (exactly HS.postJson) without photos, else as multipart/form-data
  // with the field `record` (the same JSON, as text) and a `photo` file per Blob; the
  // same CSRF token and Idempotency-Key headers either way.
  HS.postRecord = function (url, data, photos, messages, key) {
    if (!photos || !photos.length) return HS.postJson(url, data, messages, key);
    const form = new FormData();
    form.append("record", JSON.stringify(data));
    photos.forEach((photo, n) => form.append("photo", photo, photo.name || "photo-" + (n + 1) + ".jpg"));
    const headers = { Accept: "application/json", "X-CSRFToken": HS.csrfToken() };
    if (key) headers["Idempotency-Key"] = key;
    const options = { method: "POST", headers: headers, body: form, credentials: "same-origin" };
    return HS.fetchJson(url, options, messages);
  };

  // 12,345.67: Chinese grouping, at most `digits` (2) decimals.
  HS.formatNumber = function (value, digits) {
    return Number(value).toLocaleString("zh-CN", { maximumFractionDigits: digits === undefined ? 2 : digits });
  };

  // 是/否, lists joined with 、, numbers grouped with their unit; null for nothing.
  HS.formatValue = function (value, unit) {
    if (value === null || value === undefined || value === "") return null;
    if (typeof value === "boolean") return value ? "是" : "否";
    if (Array.isArray(value)) return value.join("、");
    if (typeof value === "number") return HS.formatNumber(value) + (unit ? (unit === "%" ? "" : " ") + unit : "");
    return String(value);
  };
})();
