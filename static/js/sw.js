// The service worker of /inspect (served as /sw.js by layers/inspectors/offline.py,
// which puts `self.HUAISHU_OFFLINE = {version, page, assets}` before this file).
// Registered with the scope /inspect, it controls that page only, and every request
// the page makes goes through it:
// - the page: from the network, the cached copy when the network is down (or answers
//   too slowly); every page from the network is kept as the new copy;
// - its files (OFFLINE.assets): from the cache of this version, filled at install;
// - the API's GET answers: from the network; when the network is down, the copy the
//   inspector saved (「保存本区域离线使用」, inspect-offline.js, the cache AREA_CACHE),
//   else a 503 with a Chinese message. A copy kept there is refreshed whenever the
//   network answers the same URL;
// - anything else (writes, tiles): untouched. Writes that fail offline are queued by
//   the page (inspect-offline.js), not here.
"use strict";

const OFFLINE = self.HUAISHU_OFFLINE;
const SHELL_PREFIX = "huaishu-inspect-shell-";
const SHELL_CACHE = SHELL_PREFIX + OFFLINE.version;
const AREA_CACHE = "huaishu-inspect-area"; // also named in inspect-offline.js
const PAGE_KEY = new URL(OFFLINE.page, self.location.origin).href;
const NETWORK_WAIT_MS = 6000; // longer than this and a saved copy is shown instead
const ASSETS = new Set(OFFLINE.assets.map((path) => new URL(path, self.location.origin).href));
const PRIVATE = ["/api/csrf", "/api/me"]; // never kept: straight to the network
const NOT_SAVED = "网络未连接,且此项未保存在本机(请在有网络时点「保存本区域离线使用」)。";

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(OFFLINE.assets.map((path) => new Request(path, { cache: "reload" })));
    try {
      const page = await fetch(new Request(OFFLINE.page, { cache: "reload", credentials: "same-origin" }));
      if (page.ok) await cache.put(PAGE_KEY, page);
    } catch { /* offline at install: the page is kept at its next load */ }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(SHELL_PREFIX) && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname === OFFLINE.page) event.respondWith(page(request));
    return;
  }
  if (ASSETS.has(url.origin + url.pathname)) event.respondWith(asset(request));
  else if (url.pathname.startsWith("/api/") && !PRIVATE.includes(url.pathname)) event.respondWith(api(request, url));
});

// The network's answer, or (when it fails, or takes longer than NETWORK_WAIT_MS and
// `saved` has a copy) the saved copy; `keep` keeps a good answer from the network.
async function networkFirst(request, saved, keep) {
  const network = fetch(request).then(async (response) => {
    if (response.ok) await keep(response.clone());
    return response;
  });
  network.catch(() => { /* answered from the saved copy, or thrown below */ });
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(() => resolve("slow"), NETWORK_WAIT_MS); });
  try {
    const first = await Promise.race([network, slow]);
    if (first !== "slow") return first;
    const copy = await saved();
    return copy || await network;
  } catch (error) {
    const copy = await saved();
    if (copy) return copy;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function page(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    return await networkFirst(request, () => cache.match(PAGE_KEY, { ignoreVary: true }),
      (response) => (response.type === "basic" && !response.redirected ? cache.put(PAGE_KEY, response) : null));
  } catch {
    return new Response("<!DOCTYPE html><meta charset=utf-8><title>巡查 · 离线</title>" +
      "<p>网络未连接,且巡查页面尚未保存在本机。请在有网络时打开一次巡查页面。</p>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

async function asset(request) {
  const cache = await caches.open(SHELL_CACHE);
  const copy = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
  return copy || fetch(request);
}

// The saved copy of an API answer: the same URL; for /api/nearby, the whole list saved
// for the same query (its URL without limit and offset), cut to the page asked for.
// (caches.match with cacheName reads without making the cache, as caches.open would:
// a page clearing another account's area may delete it meanwhile.)
const SAVED = { cacheName: AREA_CACHE, ignoreVary: true };

async function savedAnswer(url) {
  const exact = await caches.match(url.href, SAVED);
  if (exact || url.pathname !== "/api/nearby") return exact;
  const whole = await caches.match(nearbyKey(url), SAVED);
  if (!whole) return undefined;
  const collection = await whole.json();
  const offset = Number(url.searchParams.get("offset")) || 0;
  const limit = Number(url.searchParams.get("limit")) || collection.features.length;
  collection.features = collection.features.slice(offset, offset + limit);
  collection.query = Object.assign({}, collection.query, { limit: limit, offset: offset });
  return new Response(JSON.stringify(collection), {
    headers: { "Content-Type": "application/geo+json", "X-Huaishu-Saved": whole.headers.get("X-Huaishu-Saved") || "" },
  });
}

function nearbyKey(url) {
  const key = new URL(url.href);
  key.searchParams.delete("limit");
  key.searchParams.delete("offset");
  return key.href;
}

async function api(request, url) {
  try {
    return await networkFirst(request, () => savedAnswer(url), async (response) => {
      if (!(await caches.match(url.href, SAVED))) return; // not saved
      const body = await response.blob();
      const headers = new Headers(response.headers);
      headers.set("X-Huaishu-Saved", new Date().toISOString());
      const cache = await caches.open(AREA_CACHE);
      await cache.put(url.href, new Response(body, { status: response.status, headers: headers }));
    });
  } catch {
    return new Response(JSON.stringify({ ok: false, error: NOT_SAVED, status: 503 }), {
      status: 503, headers: { "Content-Type": "application/json; charset=utf-8" },
    });
  }
}
