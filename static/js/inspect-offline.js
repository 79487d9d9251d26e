// /inspect without a network (loaded after inspect.js, whose window.Inspect it uses):
// - registers the service worker (/sw.js, scope /inspect) that keeps the page and its
//   files on the phone (static/js/sw.js);
// - 「保存本区域离线使用」: the API's answers for the area shown (the place, the venues
//   within the radius, both overdue lists, each of their venues' history, the base
//   layers) go into the Cache API under their URLs (AREA_CACHE); offline, the service
//   worker answers the page's own requests from there, so the page works as online;
// - the queue (IndexedDB): a record submitted while the network is down is kept on the
//   phone with its Idempotency-Key and photos, listed as 「待发送」, and sent in order
//   when the network returns (the `online` event, each page load, 「立即发送」, and a
//   retry every minute while records wait). The server stores each once, whatever the
//   retries (the key). A record the server refuses (4xx) stays in the list with its
//   reason until the inspector sends it again or discards it.
// Text from data and from users reaches the page through textContent only.
(function () {
  "use strict";

  const Inspect = window.Inspect;
  const config = Inspect.config;
  const offline = config.offline;
  const state = Inspect.state;
  const $ = (id) => document.getElementById(id);
  const el = HS.el;

  const AREA_CACHE = "huaishu-inspect-area"; // as in sw.js
  const AREA_KEY = "huaishu.inspect.area"; // what was saved, when (localStorage)
  const DB_NAME = "huaishu-inspect";
  const OUTBOX = "outbox";
  const SAVE_PARALLEL = 6;
  const NEARBY_PAGE = 500; // the most /api/nearby answers at once
  const RETRY_MS = 60000;
  const SEND_WAIT_MS = 30000;

  function show(node, visible) {
    node.hidden = !visible;
  }

  function timeText(iso) {
    const d = new Date(iso);
    const two = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }

  // --- the network ------------------------------------------------------------

  // Whether a failed request failed for want of a network (not an answer of the server).
  function networkDown(error) {
    return error instanceof TypeError || !navigator.onLine;
  }

  function showNetwork() {
    show($("net-status"), !navigator.onLine);
  }

  // Opened offline (from the phone's copy of the page): today is the phone's date in
  // Jinan, not the date the copy was made (the forms' default and latest date).
  if (!navigator.onLine && offline.clockToday) {
    const now = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
    if (/^\d{4}-\d{2}-\d{2}$/.test(now) && now > config.today) config.today = now;
  }

  // --- the service worker ----------------------------------------------------------

  const workerReady = ("serviceWorker" in navigator && window.caches)
    ? navigator.serviceWorker.register(offline.worker, { scope: offline.scope })
      .then(() => navigator.serviceWorker.ready)
      .catch((error) => {
        console.error("service worker not registered:", error);
        return null;
      })
    : Promise.resolve(null);

  // --- the saved area -----------------------------------------------------------------

  function savedArea() {
    try { return JSON.parse(localStorage.getItem(AREA_KEY) || "null"); } catch { return null; }
  }

  function showArea() {
    const area = savedArea();
    const box = $("area-saved");
    show($("area-clear"), Boolean(area));
    if (!area) {
      box.textContent = "本区域尚未保存离线使用。";
      delete document.body.dataset.areaSaved;
      return;
    }
    box.textContent = "已保存离线使用:" + area.place + ",半径 " + area.radius + " 米内及逾期、超期名单共 " +
      area.venues + " 个场所(含检查记录),保存于 " + timeText(area.saved) + "。";
    if (area.page && !new URLSearchParams(location.search).get("lon")) { // opened without a place
      const link = el("a", "打开保存的区域");
      link.href = area.page;
      box.appendChild(document.createTextNode(" "));
      box.appendChild(link);
    }
    document.body.dataset.areaSaved = area.saved;
  }

  // The answer to `url` from the network, as the cache keeps it (marked with when).
  async function download(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || "服务器未能处理(HTTP " + response.status + ")");
    }
    const headers = new Headers(response.headers);
    headers.set("X-Huaishu-Saved", new Date().toISOString());
    return new Response(await response.blob(), { status: response.status, headers: headers });
  }

  // The whole list within the radius, one answer (sw.js cuts it to the page asked for),
  // under its URL without limit and offset.
  async function downloadNearby(filters) {
    const key = new URL(Inspect.nearbyUrl(0, NEARBY_PAGE, filters), location.href);
    let collection = null;
    while (!collection || collection.features.length < collection.total) {
      const offset = collection ? collection.features.length : 0;
      const url = Inspect.nearbyUrl(offset, NEARBY_PAGE, filters);
      const page = await (await download(url)).json();
      if (!collection) collection = page;
      else collection.features = collection.features.concat(page.features);
      if (!page.features.length) break;
    }
    key.searchParams.delete("limit");
    key.searchParams.delete("offset");
    const response = new Response(JSON.stringify(collection), {
      headers: { "Content-Type": "application/geo+json", "X-Huaishu-Saved": new Date().toISOString() },
    });
    return { key: key.href, response: response, collection: collection };
  }

  // Fetches `urls` a few at a time; every answer, or the first error.
  async function downloadAll(urls, progress) {
    const answers = new Array(urls.length);
    let next = 0;
    let done = 0;
    async function worker() {
      while (next < urls.length) {
        const n = next++;
        answers[n] = await download(urls[n]);
        progress(++done, urls.length);
      }
    }
    await Promise.all(Array.from({ length: Math.min(SAVE_PARALLEL, urls.length) }, worker));
    return answers;
  }

  async function saveArea() {
    const button = $("area-save");
    const box = $("area-saved");
    if (!state.point) {
      box.textContent = "请先定位、点地图或输入坐标,再保存本区域。";
      return;
    }
    if (!window.caches || !("serviceWorker" in navigator)) {
      box.textContent = "此浏览器不支持离线使用(需使用 HTTPS 打开本页)。";
      return;
    }
    button.disabled = true;
    box.textContent = "正在保存本区域…";
    try {
      if (!(await workerReady)) throw new Error("离线功能未能启用(需使用 HTTPS 打开本页)");
      const point = state.point;
      const venueList = await downloadNearby({ layer: "venues", kind: "", status: "" });
      const lists = [venueList];
      const current = Inspect.nearbyUrl(0, 1);
      if (current !== Inspect.nearbyUrl(0, 1, { layer: "venues", kind: "", status: "" })) {
        lists.push(await downloadNearby({})); // the list as filtered now, too
      }
      const urls = [Inspect.locateUrl(point.input[0], point.input[1], point.crs), ...Inspect.baseLayerUrls];
      const venues = new Set(venueList.collection.features.map((f) => f.id));
      for (const of of ["inspection", "rectification"]) {
        const near = await download(Inspect.overdueUrl(of, point));
        const collection = await near.clone().json();
        for (const f of collection.features) venues.add(f.id);
        lists.push({ key: new URL(Inspect.overdueUrl(of, point), location.href).href, response: near });
        urls.push(Inspect.overdueUrl(of, null)); // the page opened without a place
      }
      for (const id of venues) urls.push(Inspect.apiUrl("history", id));
      const answers = await downloadAll(urls, (done, all) => {
        box.textContent = "正在保存本区域… " + done + "/" + all;
      });
      // All downloaded: the new area replaces the one saved before.
      await caches.delete(AREA_CACHE);
      const cache = await caches.open(AREA_CACHE);
      for (const item of lists) await cache.put(item.key, item.response);
      for (let n = 0; n < urls.length; n++) await cache.put(new URL(urls[n], location.href).href, answers[n]);
      const area = {
        saved: new Date().toISOString(), venues: venues.size, radius: Number($("f-radius").value),
        place: $("place").textContent.replace(/^当前位置:/, "") || "所选位置", page: Inspect.pageUrl(),
        user: config.user ? config.user.name : null,
      };
      try { localStorage.setItem(AREA_KEY, JSON.stringify(area)); } catch { /* storage off */ }
      showArea();
    } catch (error) {
      box.textContent = "保存未完成:" + (networkDown(error) ? "网络未连接或服务器无响应" : error.message) +
        "。此前保存的数据不变,请在网络良好时重试。";
    } finally {
      button.disabled = false;
    }
  }
  $("area-save").addEventListener("click", saveArea);

  $("area-clear").addEventListener("click", async () => {
    if (!confirm("清除保存在本机的区域数据(场所、名单和检查记录)?待发送的记录不受影响。")) return;
    if (window.caches) await caches.delete(AREA_CACHE);
    try { localStorage.removeItem(AREA_KEY); } catch { /* storage off */ }
    showArea();
  });

  // --- the queue (IndexedDB) ---------------------------------------------------------

  let database = null;
  function db() {
    if (!database) {
      database = new Promise((resolve, reject) => {
        const open = indexedDB.open(DB_NAME, 1);
        open.onupgradeneeded = () => open.result.createObjectStore(OUTBOX, { keyPath: "id", autoIncrement: true });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
    }
    return database;
  }

  // One request in a transaction of the outbox; its result once the transaction is done.
  async function outbox(mode, work) {
    const store = (await db()).transaction(OUTBOX, mode).objectStore(OUTBOX);
    return new Promise((resolve, reject) => {
      const request = work(store);
      store.transaction.oncomplete = () => resolve(request.result);
      store.transaction.onerror = () => reject(store.transaction.error);
      store.transaction.onabort = () => reject(store.transaction.error);
    });
  }

  const items = () => outbox("readonly", (s) => s.getAll()); // in the order kept (id)

  // Keeps a submission (url, data, photos as Blobs, its Idempotency-Key, what it is).
  async function queue(item) {
    const kept = Object.assign({
      created: new Date().toISOString(), refused: null, user: config.user ? config.user.name : null,
    }, item);
    await outbox("readwrite", (s) => s.add(kept));
    await showOutbox();
    setTimeout(send, 0); // the network may be back already
  }

  // --- sending ----------------------------------------------------------------------

  const RETRY_LATER = [401, 408, 425, 429]; // not a refusal of the record itself
  let sending = null;

  function send() {
    if (!sending) {
      sending = sendAll().catch((error) => console.error("the queue was not sent:", error))
        .finally(() => { sending = null; });
    }
    return sending;
  }

  // A fresh CSRF token for the session (the page may be an old copy): the meta tag.
  // Who is logged in now (the page may be an old copy): their login name, or null.
  async function freshToken() {
    const answer = await HS.getJson(offline.csrf);
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && answer.csrf_token) meta.content = answer.csrf_token;
    const me = await HS.getJson(offline.me);
    return me.user ? me.user.name : null;
  }

  // A request that hangs (a network that is there and not there) frees the queue after
  // SEND_WAIT_MS; if it still arrives, its resending with the same key is answered with it.
  function withTimeout(promise) {
    let timer;
    const late = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new TypeError("timed out")), SEND_WAIT_MS);
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }

  // The session's CSRF token can change under the page (another tab, a login, a page
  // answered from the phone's copy while the network's copy set a new session): a 400
  // for the token is not a refusal of the record. A new token, and once more.
  function isCsrfError(error) {
    return error.status === 400 && /CSRF/.test(error.message);
  }

  async function sendOne(item) {
    try {
      return await withTimeout(HS.postRecord(item.url, item.data, item.photos, null, item.key));
    } catch (error) {
      if (!isCsrfError(error)) throw error;
      await withTimeout(freshToken());
      return await withTimeout(HS.postRecord(item.url, item.data, item.photos, null, item.key));
    }
  }

  async function sendAll() {
    let waiting = (await items()).filter((item) => !item.refused);
    if (!waiting.length || !navigator.onLine) return;
    const say = $("outbox-message");
    let user;
    try {
      user = await withTimeout(freshToken());
    } catch (error) {
      say.textContent = networkDown(error) || error.status >= 500 ? "网络未恢复,稍后自动重试。" : "无法发送:" + error.message;
      return;
    }
    if (!user) {
      say.textContent = "登录已失效:请重新登录,待发送的记录仍保存在本机,登录后自动发送。";
      return;
    }
    // Each record is sent by the account that made it (the server records who sent it).
    const others = waiting.filter((item) => item.user && item.user !== user);
    waiting = waiting.filter((item) => !item.user || item.user === user);
    let sent = 0;
    let stopped = others.length ? others.length + " 条记录由其他账号记录,请以该账号登录后发送。" : "";
    for (const item of waiting) {
      say.textContent = "正在发送…";
      try {
        await sendOne(item);
        await outbox("readwrite", (s) => s.delete(item.id));
        sent++;
      } catch (error) {
        if (isCsrfError(error)) {
          stopped = "安全校验未通过(会话已更换),稍后自动重试。";
          break;
        }
        if (networkDown(error) || !error.status || error.status >= 500) {
          stopped = "网络未恢复或服务器暂时无法处理,稍后自动重试。";
          break;
        }
        if (error.status === 401) {
          stopped = "登录已失效:请重新登录,待发送的记录仍保存在本机,登录后自动发送。";
          break;
        }
        if (RETRY_LATER.includes(error.status)) {
          stopped = "服务器繁忙,稍后自动重试。";
          break;
        }
        item.refused = { status: error.status, reason: error.message, at: new Date().toISOString() };
        await outbox("readwrite", (s) => s.put(item));
      }
    }
    say.textContent = stopped || (sent ? "已发送 " + sent + " 条记录。" : "");
    await showOutbox();
    const refused = waiting.filter((item) => item.refused).length;
    if (sent || refused) {
      Inspect.notice((sent ? "已发送保存在本机的 " + sent + " 条记录,服务器已记录。" : "") +
        (refused ? refused + " 条记录服务器未接受,原因见页面上方「待发送」。" : ""));
    }
    if (sent) await Inspect.refresh();
  }

  async function retry(item) {
    item.refused = null;
    await outbox("readwrite", (s) => s.put(item));
    await showOutbox();
    await send();
  }

  // A venue edit made on a version of the layer in which someone else has changed that
  // venue since (409): sent again unchanged it is refused again. After reading why, the
  // inspector may send it on the venue as it is now: the layer's version now as its base,
  // and a new key (the same key with another body is refused).
  const VENUE_EDIT = /\/api\/venues\/([^/?#]+)\/[a-z]+$/;
  const rebasable = (item) => item.refused && item.refused.status === 409 && item.data &&
    "base" in item.data && VENUE_EDIT.test(item.url);

  async function rebase(item) {
    if (!confirm("该场所在您记录之后已被他人修改:\n" + item.refused.reason +
      "\n\n仍按您的记录在场所的最新版本上提交?\n" + item.what)) return;
    const say = $("outbox-message");
    try {
      const venue = decodeURIComponent(VENUE_EDIT.exec(item.url)[1]);
      const now = await withTimeout(HS.getJson(Inspect.apiUrl("history", venue)));
      item.data = Object.assign({}, item.data, { base: now.layer_version });
    } catch (error) {
      say.textContent = "未能读取该场所的最新版本:" +
        (networkDown(error) ? "网络未连接或服务器无响应" : error.message) + "。请稍后重试。";
      return;
    }
    item.key = HS.idempotencyKey();
    await retry(item);
  }

  async function discard(item) {
    if (!confirm("放弃这条记录?它不会被发送,也无法恢复:\n" + item.what)) return;
    await outbox("readwrite", (s) => s.delete(item.id));
    await showOutbox();
  }

  async function showOutbox() {
    let all;
    try {
      all = await items();
    } catch (error) {
      console.error("the queue cannot be read:", error);
      return;
    }
    const list = $("outbox-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    for (const item of all) {
      const row = el("li");
      row.dataset.key = item.key;
      row.appendChild(el("span", item.what || item.url));
      const who = item.user && config.user && item.user !== config.user.name ? "," + item.user : "";
      row.appendChild(el("span", "(" + timeText(item.created) + " 记录" + who + ")", "hs-hint"));
      if (item.refused) {
        row.dataset.refused = "true";
        row.appendChild(el("div", "服务器未接受:" + item.refused.reason, "hs-outbox-refused"));
        const again = el("button", "重试");
        again.type = "button";
        again.addEventListener("click", () => retry(item));
        const drop = el("button", "放弃");
        drop.type = "button";
        drop.addEventListener("click", () => discard(item));
        row.appendChild(again);
        if (rebasable(item)) {
          const onHead = el("button", "按最新版本提交");
          onHead.type = "button";
          onHead.addEventListener("click", () => rebase(item));
          row.appendChild(onHead);
        }
        row.appendChild(drop);
      }
      list.appendChild(row);
    }
    $("outbox-count").textContent = "待发送 " + all.length;
    show($("outbox"), all.length > 0);
    document.body.dataset.outbox = String(all.length);
  }

  $("outbox-send").addEventListener("click", () => {
    if (!navigator.onLine) {
      $("outbox-message").textContent = "网络未连接:记录仍保存在本机,网络恢复后自动发送。";
      return;
    }
    send();
  });

  window.addEventListener("online", () => { showNetwork(); send(); });
  window.addEventListener("offline", showNetwork);
  setInterval(() => { if (navigator.onLine) send(); }, RETRY_MS);

  window.InspectOffline = { networkDown: networkDown, queue: queue, send: send, items: items };

  // What one account saved (histories with who recorded them) is not left to the next:
  // a page loaded from the network for another account, or after logging out, clears it.
  async function forgetOthersArea() {
    const area = savedArea();
    const user = config.user ? config.user.name : null;
    if (!area || !navigator.onLine || (area.user || null) === user) return;
    if (window.caches) await caches.delete(AREA_CACHE);
    try { localStorage.removeItem(AREA_KEY); } catch { /* storage off */ }
  }

  showNetwork();
  forgetOthersArea().finally(() => {
    showArea();
    document.body.dataset.areaChecked = "true"; // another account's area is gone by now
  });
  showOutbox().then(() => {
    if (navigator.onLine) send();
  });
})();
