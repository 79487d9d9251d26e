// The inspectors' page (/inspect): where am I, what is near, record inspections.
// Text from data and from users only reaches the page through textContent
// (never innerHTML), so names like <img onerror=...> show literally.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("inspect-config").textContent);
  const $ = (id) => document.getElementById(id);

  const HISTORY_SHOWN = 5; // the newest records; the rest on request
  const PAGE_LIMIT = 50; // the nearest first; 「加载更多」 fetches the next 50
  const MAX_LIMIT = 500; // the most /api/nearby answers at once
  const STATUS_COLORS = config.statusColors; // the map's status colours (catalogue/styles.py)
  const STYLES = config.styles; // the catalogue's layer styles (catalogue/entries.py)

  const state = {
    point: null, // {lon, lat, crs, input: [lon, lat]} as answered by the API (WGS84 lon/lat)
    nearby: null, // the /api/nearby FeatureCollection shown: its pages so far, nearest first
    nearbyQuery: 0, // counts the list's queries: a page that comes back late is dropped
    overdue: null,
    late: null, // /api/overdue?of=rectification: venues with a hazard past its deadline (超期未整改)
    venueId: null, // the venue whose detail is open
    tab: "nearby",
  };
  // venuesVersion: the venues layer's version the page last read (an edit's base).
  const Inspect = (window.Inspect = { state: state, config: config, venuesVersion: config.venuesVersion });
  // What corrections.js (a record's 「更正」) uses of the page.
  Object.assign(Inspect, { postJson: (url, data) => postRecord(url, data, [], null, false), apiUrl: apiUrl, notice: notice, refreshAfterWrite: refreshAfterWrite });
  // What inspect-venues.js uses: a venue edit is a submission as a record is (its key,
  // queued on the phone when the network is down).
  Inspect.postRecord = (url, data, what) => postRecord(url, data, [], what);

  // --- small helpers ----------------------------------------------------------

  const el = HS.el;

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function distanceText(metres) {
    if (metres < 1) return "就在此处";
    if (metres < 1000) return Math.round(metres) + " 米";
    return (metres / 1000).toFixed(metres < 10000 ? 2 : 1) + " 公里";
  }

  function message(text) {
    const box = $("message");
    box.textContent = text || "";
    show(box, Boolean(text));
  }

  // What the page says of a query or a write that the session may not make.
  const READ_REFUSED = { 401: "请先登录(或登录已失效,请重新登录)。", 403: "当前账号没有查看此内容的权限。" };
  const WRITE_REFUSED = { 401: "登录已失效,请重新登录。", 403: "当前账号没有记录检查的权限。" };

  // The browser's own failures (「Failed to fetch」, a proxy's HTML page) in Chinese; the
  // API's own messages (Chinese first) as they are.
  const NETWORK_DOWN = "网络未连接或服务器无响应";
  function inChinese(error) {
    if (error instanceof TypeError) return new Error(NETWORK_DOWN);
    const status = /^HTTP (\d+)$/.exec(error.message);
    if (status) return new Error("服务器未能处理(HTTP " + status[1] + ")");
    return error;
  }

  function getJson(url) {
    return HS.getJson(url, READ_REFUSED).catch((error) => { throw inChinese(error); });
  }

  // One Idempotency-Key per submission: a submission sent again unchanged (after an
  // error or a lost answer) keeps its key, so the server stores it once. `photos`: the
  // scaled Blobs (photos.js), sent as multipart with the record.
  const submissions = new Map();
  const blobIds = new WeakMap();
  function postRecord(url, data, photos, what, queueable) {
    photos = photos || [];
    for (const photo of photos) if (!blobIds.has(photo)) blobIds.set(photo, HS.idempotencyKey());
    const body = url + " " + JSON.stringify(data) + " " + photos.map((p) => blobIds.get(p)).join(",");
    if (!submissions.has(body)) submissions.set(body, HS.idempotencyKey());
    const key = submissions.get(body);
    return HS.postRecord(url, data, photos, WRITE_REFUSED, key).then((answer) => {
      submissions.delete(body);
      return answer;
    }).catch((error) => {
      if (queueable === false) throw inChinese(error); // e.g. a correction: said, not queued
      return keepOffline(error, { url, data, photos, key, what }, () => submissions.delete(body));
    });
  }

  // With the network down, a submission (its photos and key) goes to the phone's queue
  // (inspect-offline.js), which sends it when the network returns: {queued: true}.
  // Any other failure, in Chinese.
  function keepOffline(error, item, forget) {
    const offline = window.InspectOffline;
    if (!offline || !offline.networkDown(error)) throw inChinese(error);
    return offline.queue(Object.assign({ venueId: state.venueId }, item)).then(() => {
      forget();
      return { queued: true };
    }, () => { throw inChinese(error); });
  }

  // What a write recorded, said at the bottom of the screen (whatever is scrolled into view).
  let noticeTimer = null;
  function notice(text) {
    const box = $("notice");
    box.textContent = text;
    show(box, true);
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => show(box, false), 12000);
  }
  Inspect.notice = notice;
  $("notice").addEventListener("click", () => show($("notice"), false));

  function apiUrl(name, id) {
    return config.api[name].replace(encodeURIComponent("{id}"), encodeURIComponent(id));
  }
  Inspect.apiUrl = apiUrl;

  function pageUrl() {
    const params = new URLSearchParams();
    if (state.point) {
      params.set("lon", state.point.input[0]);
      params.set("lat", state.point.input[1]);
      params.set("crs", state.point.crs);
    }
    if (state.venueId) params.set("venue", state.venueId);
    if (state.tab !== "nearby") params.set("list", state.tab); // a reload keeps the list shown
    if (+$("f-radius").value !== config.radius.default) params.set("radius", $("f-radius").value);
    const query = params.toString();
    return location.pathname + (query ? "?" + query : "");
  }

  Inspect.pageUrl = pageUrl;

  function syncUrl() {
    history.replaceState(null, "", pageUrl());
    const next = encodeURIComponent(pageUrl());
    for (const id of ["login-link", "login-to-record-link"]) {
      const link = $(id);
      if (link) link.href = config.loginUrl + "?next=" + next;
    }
  }

  // --- the map ----------------------------------------------------------------

  const map = L.map("map", { zoomControl: true, attributionControl: false });
  Inspect.map = map;
  const [minx, miny, maxx, maxy] = config.bbox;
  map.fitBounds([[miny, minx], [maxy, maxx]]);
  L.control.scale({ imperial: false }).addTo(map);
  L.control.attribution({ prefix: false }).addTo(map); // the tiles' attributions, if any

  // Basemaps: none (offline, the default) and the configured ones, their tiles through
  // the app's tile proxy; the choice is kept on the phone. Their names are the
  // server's, not data. When tiles fail, basemap-fallback.js switches to none.
  const BASEMAP_KEY = "huaishu.inspect.basemap";
  const basemaps = {};
  for (const choice of config.basemaps) {
    const tiles = choice.tiles.map((t) => {
      const options = { attribution: t.attribution, maxZoom: t.maxZoom, subdomains: t.subdomains || "abc" };
      for (const name of ["maxNativeZoom", "minZoom", "bounds"]) if (t[name] !== undefined) options[name] = t[name];
      return L.tileLayer(t.url, options);
    });
    basemaps[choice.name] = L.layerGroup(tiles);
    basemaps[choice.name].key = choice.key;
    HuaishuBasemaps.register(map, choice.key, basemaps[choice.name], choice.name);
  }
  let saved = null;
  try { saved = localStorage.getItem(BASEMAP_KEY); } catch { /* storage off */ }
  const chosen = config.basemaps.find((c) => c.key === saved) || config.basemaps[0];
  basemaps[chosen.name].addTo(map);
  let basemap = chosen.key;
  L.control.layers(basemaps, null, { position: "topright" }).addTo(map);
  map.on("baselayerchange", (event) => {
    basemap = event.layer.key;
    try { localStorage.setItem(BASEMAP_KEY, basemap); } catch { /* storage off */ }
  });
  document.addEventListener("huaishu:basemapfallback", () => { basemap = "none"; });
  Inspect.basemap = () => basemap;
  // The venues' status colours (the catalogue's one palette, as on the overview map).
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const box = el("div", null, "hs-legend");
    box.id = "inspect-legend";
    for (const status of config.statusOrder) {
      const color = STATUS_COLORS[status];
      const row = el("div");
      const swatch = el("span", null, "hs-legend-swatch");
      swatch.style.background = color;
      row.appendChild(swatch);
      row.appendChild(el("span", status));
      box.appendChild(row);
    }
    return box;
  };
  legend.addTo(map);
  const baseLayers = L.layerGroup().addTo(map);
  const resultLayer = L.layerGroup().addTo(map);
  const hereLayer = L.layerGroup().addTo(map);
  const markers = {}; // feature id -> Leaflet layer

  const BASE_STYLES = {
    roads: { color: "#999", weight: 3 },
    grid: { color: "#aab", weight: 1, dashArray: "3 3", fill: false },
    communities: { color: STYLES.communities.color, weight: 1.5, fill: false },
    boundary: { color: STYLES.boundary.color, weight: STYLES.boundary.weight, dashArray: STYLES.boundary.dashArray, fill: false },
  };
  // Roads, cells and boundaries for orientation (no tiles: the page works offline).
  Inspect.baseLayers = {}; // name -> L.geoJSON, named on the map by map-labels.js
  Inspect.baseLayerUrls = Object.keys(BASE_STYLES).map((name) => config.api.layers + "/" + name);
  for (const name of Object.keys(BASE_STYLES)) {
    getJson(config.api.layers + "/" + name)
      .then((collection) => {
        Inspect.baseLayers[name] = L.geoJSON(collection, { style: BASE_STYLES[name], interactive: false }).addTo(baseLayers);
      })
      .catch((error) => console.error("layer " + name + " failed to load:", error));
  }

  map.on("click", (event) => {
    if (Inspect.pickPoint && Inspect.pickPoint(event.latlng)) return; // inspect-venues.js
    const lon = +event.latlng.lng.toFixed(7);
    const lat = +event.latlng.lat.toFixed(7);
    $("coords").value = lon + "," + lat;
    $("crs").value = "wgs84";
    locate(lon, lat, "wgs84");
  });

  function drawHere() {
    hereLayer.clearLayers();
    if (!state.point) return;
    const latlng = [state.point.lat, state.point.lon];
    L.circle(latlng, {
      radius: +$("f-radius").value, color: "#1f4e79", weight: 1, fillOpacity: 0.05, interactive: false,
    }).addTo(hereLayer);
    L.circleMarker(latlng, {
      radius: 8, color: "#fff", weight: 3, fillColor: "#1f78d1", fillOpacity: 1, interactive: false,
    }).addTo(hereLayer);
  }

  function featureColor(feature, layer) {
    if (layer === "venues") return STATUS_COLORS[feature.properties.status] || config.unknownColor;
    return STYLES[layer].color;
  }

  function drawResults(collection, layer) {
    resultLayer.clearLayers();
    for (const key of Object.keys(markers)) delete markers[key];
    const shown = L.geoJSON(collection, {
      style: (feature) => ({ color: featureColor(feature, layer), weight: 2, fillOpacity: 0.4 }),
      pointToLayer: (feature, latlng) =>
        L.circleMarker(latlng, {
          radius: 7, color: "#fff", weight: 1.5, fillColor: featureColor(feature, layer), fillOpacity: 0.95,
          bubblingMouseEvents: false,
        }),
      onEachFeature: (feature, lyr) => {
        markers[feature.id] = lyr;
        lyr.bindTooltip(() => el("span", feature.properties.name));
        lyr.on("click", () => choose(feature, layer));
      },
    });
    shown.addTo(resultLayer);
  }

  // --- where am I -----------------------------------------------------------

  function parseCoords(text) {
    const parts = text.trim().split(/[\s,,;;]+/).filter(Boolean);
    if (parts.length !== 2 || parts.some((p) => !isFinite(Number(p)))) return null;
    return parts.map(Number);
  }

  $("coord-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const pair = parseCoords($("coords").value);
    if (!pair) {
      message("请输入“经度,纬度”两个数字,例如 116.9610,36.6650。");
      return;
    }
    const [lon, lat] = pair;
    if (lon >= 36 && lon <= 37.6 && lat >= 116.2 && lat <= 117.8) {
      message("经纬度顺序似乎颠倒了:请先填经度(约 116.9),再填纬度(约 36.6)。");
      return;
    }
    locate(lon, lat, $("crs").value);
  });

  $("btn-gps").addEventListener("click", () => {
    if (!navigator.geolocation) {
      message("此浏览器不支持定位,请点地图或输入坐标。");
      return;
    }
    $("place").textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const lon = +position.coords.longitude.toFixed(7);
        const lat = +position.coords.latitude.toFixed(7);
        $("coords").value = lon + "," + lat;
        $("crs").value = "wgs84"; // the browser's position is WGS84
        locate(lon, lat, "wgs84");
      },
      (error) => {
        const reasons = { 1: "未允许定位", 2: "无法获取位置", 3: "定位超时" };
        $("place").textContent = "";
        message((reasons[error.code] || "定位失败") + ",请点地图或输入坐标。");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  });

  function locateUrl(lon, lat, crs) {
    return config.api.locate + "?lon=" + encodeURIComponent(lon) + "&lat=" + encodeURIComponent(lat) + "&crs=" + crs;
  }
  Inspect.locateUrl = locateUrl;

  async function locate(lon, lat, crs) {
    message("");
    let where;
    try {
      where = await getJson(locateUrl(lon, lat, crs));
    } catch (error) {
      message("无法查询:" + error.message);
      return;
    }
    state.point = where.point;
    const place = $("place");
    if (where.inside) {
      const parts = [where.community && where.community.name, where.grid && where.grid.name];
      place.textContent = "当前位置:" + parts.filter(Boolean).join(" · ");
    } else {
      place.textContent = "当前位置不在中大槐树街道辖区内(距辖区约 " +
        distanceText(where.distance_to_boundary_m || 0) + ")";
    }
    place.dataset.inside = String(where.inside);
    drawHere();
    map.setView([state.point.lat, state.point.lon], Math.max(map.getZoom(), 16), { animate: false });
    syncUrl();
    await Promise.all([loadNearby(), loadOverdue()]);
  }

  // --- lists ------------------------------------------------------------------

  function fillKinds() {
    const layer = $("f-layer").value;
    const select = clear($("f-kind"));
    select.appendChild(new Option("全部", ""));
    for (const group of config.kinds[layer] || []) {
      if (layer === "venues") select.appendChild(new Option("全部" + group.group, group.group));
      for (const kind of group.kinds) select.appendChild(new Option(kind, kind));
    }
    show($("f-kind-label"), layer in config.kinds);
    show($("f-status-label"), layer === "venues");
  }

  // The features within the radius after the `offset` nearest (the filters as they are now,
  // or as `filters` {layer, kind, status} says).
  function nearbyUrl(offset, limit, filters) {
    const f = Object.assign({ layer: $("f-layer").value, kind: $("f-kind").value, status: $("f-status").value }, filters);
    const params = new URLSearchParams({
      lon: state.point.lon, lat: state.point.lat, crs: "wgs84",
      radius_m: $("f-radius").value, layer: f.layer, limit: limit, offset: offset,
    });
    if (f.kind) params.set("kind", f.kind);
    if (f.layer === "venues" && f.status) params.set("status", f.status);
    return config.api.nearby + "?" + params.toString();
  }
  Inspect.nearbyUrl = nearbyUrl;

  function fetchNearby(offset, limit) {
    return getJson(nearbyUrl(offset, limit));
  }

  // The list anew: the first page, or (after a write) as many as were shown.
  async function loadNearby(keepShown) {
    if (!state.point) return;
    const query = ++state.nearbyQuery;
    const layer = $("f-layer").value;
    const list = $("results");
    const wanted = keepShown && state.nearby ? Math.max(state.nearby.features.length, PAGE_LIMIT) : PAGE_LIMIT;
    list.setAttribute("aria-busy", "true");
    let collection;
    try {
      collection = await fetchNearby(0, Math.min(wanted, MAX_LIMIT));
      while (collection.features.length < Math.min(wanted, collection.total)) {
        const got = collection.features.length;
        const page = await fetchNearby(got, Math.min(wanted - got, MAX_LIMIT));
        if (!page.features.length) break;
        collection.features = withoutShown(collection.features, page.features);
        collection.total = page.total;
      }
    } catch (error) {
      message("无法查询附近:" + error.message);
      return;
    } finally {
      list.removeAttribute("aria-busy");
    }
    if (query !== state.nearbyQuery) return; // the filters changed meanwhile
    state.nearby = collection;
    if (layer === "venues" && collection.layer_version) Inspect.venuesVersion = collection.layer_version;
    drawHere();
    drawResults(state.nearby, layer);
    renderList(list, state.nearby, layer, "范围内没有符合条件的" + layerTitle(layer) + "。");
    showNearbyCount();
    document.body.dataset.nearbyLoaded = String(Date.now());
  }

  // 「加载更多」: the next page of the nearest, added below those shown.
  async function loadMoreNearby() {
    if (!state.nearby) return;
    const query = state.nearbyQuery;
    const layer = $("f-layer").value;
    const button = $("nearby-more");
    button.disabled = true;
    let page;
    try {
      page = await fetchNearby(state.nearby.features.length, PAGE_LIMIT);
    } catch (error) {
      message("无法加载更多:" + error.message);
      return;
    } finally {
      button.disabled = false;
    }
    if (query !== state.nearbyQuery) return; // the list was loaded anew meanwhile
    const shown = state.nearby.features.length;
    state.nearby.features = withoutShown(state.nearby.features, page.features);
    state.nearby.total = page.total;
    appendItems($("results"), state.nearby.features.slice(shown), layer);
    drawResults(state.nearby, layer);
    showNearbyCount();
    document.body.dataset.nearbyLoaded = String(Date.now());
  }
  $("nearby-more").addEventListener("click", loadMoreNearby);

  // Those shown, then the page's others (a record made meanwhile may shift a filtered list).
  function withoutShown(shown, page) {
    const ids = new Set(shown.map((f) => f.id));
    return shown.concat(page.filter((f) => !ids.has(f.id)));
  }

  function showNearbyCount() {
    const shown = state.nearby.features.length;
    const total = state.nearby.total;
    $("nearby-count").textContent = "(" + (total > shown ? shown + "/" + total : total) + ")";
    const more = $("nearby-more");
    more.textContent = "加载更多(还有 " + (total - shown) + " 个)";
    show(more, total > shown && state.tab === "nearby" && !state.venueId);
  }

  // The two overdue lists, nearest first from the point chosen: 逾期未检 (inspection) and
  // 超期未整改 (rectification past a hazard's deadline).
  async function loadOverdue() {
    await Promise.all([loadOverdueList("inspection"), loadOverdueList("rectification")]);
  }

  const OVERDUE_LISTS = {
    inspection: { key: "overdue", list: "overdue", count: "overdue-count", title: "逾期未检" },
    rectification: { key: "late", list: "late", count: "late-count", title: "超期未整改" },
  };

  function overdueUrl(of, point) {
    const params = new URLSearchParams({ of: of });
    if (point) {
      params.set("lon", point.lon);
      params.set("lat", point.lat);
    }
    return config.api.overdue + "?" + params.toString();
  }
  Inspect.overdueUrl = overdueUrl;

  async function loadOverdueList(of) {
    const which = OVERDUE_LISTS[of];
    try {
      state[which.key] = await getJson(overdueUrl(of, state.point));
    } catch (error) {
      message("无法查询" + which.title + "的场所:" + error.message);
      return;
    }
    renderList($(which.list), state[which.key], "venues", "没有" + which.title + "的场所。");
    $(which.count).textContent = "(" + state[which.key].total + ")";
  }

  function layerTitle(name) {
    const layer = config.layers.find((l) => l.name === name);
    return layer ? layer.title : name;
  }

  function renderList(list, collection, layer, emptyText) {
    clear(list);
    if (!collection.features.length) {
      list.appendChild(el("li", emptyText, "hs-empty"));
      return;
    }
    appendItems(list, collection.features, layer);
  }

  function appendItems(list, features, layer) {
    for (const feature of features) {
      const p = feature.properties;
      const item = el("li");
      const button = el("button", null, "hs-item");
      button.type = "button";
      button.dataset.id = feature.id;
      const head = el("div", null, "hs-item-head");
      head.appendChild(el("span", p.name, "hs-item-name"));
      if (layer === "venues") head.appendChild(statusBadge(p));
      button.appendChild(head);
      const line = [p.kind || p.community];
      if (p.distance_m !== undefined) line.push(p.distance_m < 1 ? "就在此处" : p.direction + " " + distanceText(p.distance_m));
      button.appendChild(el("div", line.filter(Boolean).join(" · "), "hs-item-where"));
      if (layer === "venues") {
        const live = config.live; // labels of the venues' live properties
        const facts = ["上次检查 " + (p.last_inspection || "无"),
          p.closed_on ? "停业日期 " + p.closed_on : live.next_due.label + " " + p.next_due];
        if (p.open_hazards) facts.push(live.open_hazards.label + " " + p.open_hazards);
        button.appendChild(el("div", facts.join(" · "), "hs-item-facts"));
        if (p.overdue_hazards) {
          button.appendChild(el("div", "超期未整改 " + p.overdue_hazards + " 处,已超期 " +
            p.rectification_overdue_days + " 天", "hs-item-late"));
        }
      } else if (layer === "garbage") {
        button.appendChild(el("div", "垃圾桶 " + p.bins + " 个(示意) · " + (p.kinds || []).join("、"), "hs-item-facts"));
      } else if (layer === "parking") {
        button.appendChild(el("div", "泊位 " + p.spaces + " 个(示意) · " + p.operator, "hs-item-facts"));
      }
      button.addEventListener("click", () => choose(feature, layer));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  function statusBadge(props) {
    const badge = el("span", statusText(props), "hs-badge");
    badge.style.background = STATUS_COLORS[props.status] || config.unknownColor;
    if (props.due_soon && props.status === "合格") badge.title = config.dueSoonDays + "天内应检";
    return badge;
  }

  // A venue's status as its badge says it: 超期未整改 with the days past the deadline.
  function statusText(props) {
    return props.rectification_overdue_days ? props.status + " " + props.rectification_overdue_days + "天" : props.status;
  }

  const TABS = { nearby: "results", overdue: "overdue", late: "late" }; // tab -> its list
  function setTab(tab) {
    state.tab = tab;
    for (const [name, list] of Object.entries(TABS)) {
      $("tab-" + name).setAttribute("aria-selected", String(tab === name));
      if (!state.venueId) show($(list), tab === name);
    }
    if (state.nearby) showNearbyCount();
    syncUrl();
  }
  for (const name of Object.keys(TABS)) {
    $("tab-" + name).addEventListener("click", () => { closeDetail(); setTab(name); });
  }

  for (const id of ["f-layer", "f-radius", "f-kind", "f-status"]) {
    $(id).addEventListener("change", () => {
      if (id === "f-layer") fillKinds();
      closeDetail();
      setTab("nearby");
      loadNearby();
    });
  }

  // --- a venue: map, history, records -------------------------------------------

  function choose(feature, layer) {
    if (layer === "venues") {
      openVenue(feature.id);
      return;
    }
    const lyr = markers[feature.id];
    if (lyr) {
      const box = el("div", null, "hs-popup");
      box.appendChild(el("b", feature.properties.name));
      box.appendChild(el("div", [feature.properties.kind, feature.properties.community].filter(Boolean).join(" · ")));
      lyr.bindPopup(box).openPopup();
    }
    $("map").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  async function openVenue(venueId) {
    let data;
    try {
      data = await getJson(apiUrl("history", venueId));
    } catch (error) {
      message("无法打开场所:" + error.message);
      return;
    }
    state.venueId = venueId;
    if (data.layer_version) Inspect.venuesVersion = data.layer_version;
    renderDetail(data);
    for (const list of Object.values(TABS)) show($(list), false);
    show($("nearby-more"), false);
    show($("detail"), true);
    const [lon, lat] = data.venue.geometry.coordinates;
    const lyr = markers[venueId];
    if (lyr) lyr.setStyle({ radius: 11, weight: 3, color: "#1f1f1f" });
    else {
      L.circleMarker([lat, lon], {
        radius: 11, weight: 3, color: "#1f1f1f", fillColor: featureColor(data.venue, "venues"), fillOpacity: 0.95,
      }).addTo(resultLayer);
    }
    map.setView([lat, lon], Math.max(map.getZoom(), 17), { animate: false });
    syncUrl();
    $("map").scrollIntoView({ block: "start" });
    document.body.dataset.venueOpen = venueId;
  }
  Inspect.openVenue = openVenue;

  function closeDetail() {
    if (!state.venueId) return;
    state.venueId = null;
    show($("detail"), false);
    delete document.body.dataset.venueOpen;
    setTab(state.tab);
    if (state.nearby) drawResults(state.nearby, $("f-layer").value);
    syncUrl();
  }
  $("detail-back").addEventListener("click", closeDetail);

  function renderDetail(data) {
    const p = data.venue.properties;
    $("detail-name").textContent = p.name;
    const interval = config.intervals[p.kind] || config.intervals.default;
    $("detail-meta").textContent = [p.category, p.kind, p.address, p.community,
      "每 " + interval + " 天检查一次"].join(" · ");
    const badge = $("detail-status");
    badge.textContent = statusText(p);
    badge.style.background = STATUS_COLORS[p.status] || config.unknownColor;
    $("detail-last").textContent = p.last_inspection || "无";
    $("detail-next").textContent = p.closed_on ? "无需检查(已停业)" :
      p.next_due + (p.overdue ? "(已逾期)" : p.due_soon ? "(" + config.dueSoonDays + "天内)" : "");
    // A closed venue (已停业, inspect-venues.js marks it): due for nothing, on no list.
    $("detail-closed").textContent = p.closed_on ? "此场所已于 " + p.closed_on + " 标记停业:不再列入逾期未检等清单," +
      "不能再记录检查;如已恢复营业,请先「恢复营业」。" : "";
    show($("detail-closed"), Boolean(p.closed_on));
    renderOpenHazards(data.open_hazards);
    renderHistory(data);
    const user = config.user;
    const canRecord = Boolean(config.canRecord);
    show($("login-to-record"), !user);
    if (user) show($("no-right-to-record"), !canRecord);
    // A closed venue takes no record (the server refuses it) until it is reopened.
    show($("record-form"), canRecord && !p.closed_on);
    const rectifying = data.open_hazards.filter((h) => h.status === "整改中");
    show($("recheck-form"), canRecord && !p.closed_on && rectifying.length > 0);
    if (canRecord) {
      resetRecordForm();
      resetRecheckForm(rectifying);
    }
    if (Inspect.onDetail) Inspect.onDetail(data); // inspect-venues.js
  }

  function hazardText(h) {
    return h.category + ":" + h.description;
  }

  function renderOpenHazards(hazards) {
    const list = clear($("detail-hazards"));
    $("detail-open-count").textContent = "(" + hazards.length + ")";
    if (!hazards.length) list.appendChild(el("li", "无", "hs-empty"));
    const canRecord = Boolean(config.canRecord);
    for (const h of hazards) {
      const item = el("li");
      item.dataset.hazard = h.id;
      const head = el("div");
      head.appendChild(el("span", h.status, "hs-tag hs-tag-" + (h.status === "立案" ? "filed" : "fixing")));
      if (h.overdue_days) head.appendChild(lateTag(h));
      head.appendChild(el("span", " " + hazardText(h)));
      item.appendChild(head);
      item.appendChild(el("div", "发现 " + h.found + " · 整改期限 " + (h.deadline || "无") + " · 编号 " + h.id, "hs-meta"));
      const step = stepPhotos(h);
      if (step.length) item.appendChild(HS.photoStrip(step, config.api, "整改照片"));
      if (canRecord && h.status === "立案") {
        const box = HS.photoPickerBox("拍照或选择整改照片(可选)");
        const picker = HS.photoPicker(box, config.maxPhotos);
        const start = el("button", "标记为整改中", "hs-small");
        start.type = "button";
        start.addEventListener("click", () => startRectification(h.id, start, picker));
        item.appendChild(box);
        item.appendChild(start);
      }
      list.appendChild(item);
    }
  }

  // The photos of a hazard's 整改中 step (only logged-in users get them).
  function stepPhotos(h) {
    const step = (h.events || []).find((e) => e.status === "整改中");
    return (step && step.photos) || [];
  }

  // 超期未整改: an open hazard past its deadline, with the days.
  function lateTag(h) {
    const tag = el("span", "超期未整改 " + h.overdue_days + " 天", "hs-tag hs-tag-late");
    tag.style.background = STATUS_COLORS["超期未整改"];
    return tag;
  }

  // Where the phone was: the distance to the venue; farther than 200 m is 非现场记录.
  function positionLine(where) {
    const line = el("div", null, "hs-meta hs-position");
    if (where.off_site) {
      const tag = el("span", "非现场记录", "hs-tag hs-tag-offsite");
      line.appendChild(tag);
      line.appendChild(document.createTextNode(" "));
    }
    const accuracy = where.accuracy_m === null ? "" : "(定位精度 ±" + Math.round(where.accuracy_m) + " 米)";
    line.appendChild(el("span", "记录时距场所 " + distanceText(where.distance_m) + accuracy));
    return line;
  }

  // The phone's position for a record, when the browser gives one within a few seconds
  // (never blocks a record: no permission or no fix means no position).
  function currentPosition() {
    if (!navigator.geolocation) return Promise.resolve(null);
    return new Promise((resolve) => {
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lon: +p.coords.longitude.toFixed(7), lat: +p.coords.latitude.toFixed(7),
          accuracy_m: Number.isFinite(p.coords.accuracy) ? Math.round(p.coords.accuracy * 10) / 10 : null }),
        () => resolve(null),
        { enableHighAccuracy: true, timeout: 5000, maximumAge: 60000 },
      );
    });
  }

  function renderHistory(data) {
    const list = clear($("history"));
    $("history-count").textContent = "(" + data.inspection_count + ")";
    if (!data.inspections.length) list.appendChild(el("li", "尚无检查记录", "hs-empty"));
    data.inspections.forEach((ins, n) => {
      const item = el("li");
      item.hidden = n >= HISTORY_SHOWN;
      const head = el("div", null, "hs-history-head");
      head.appendChild(el("b", ins.date));
      head.appendChild(el("span", " " + (ins.campaign || "检查") + " · " + ins.inspector + " · "));
      head.appendChild(el("span", ins.result, ins.result === "合格" ? "hs-ok" : "hs-bad"));
      item.appendChild(head);
      for (const h of ins.hazards) {
        const line = el("div", "发现:" + hazardText(h) + "(" + h.status +
          (h.rectified ? "," + h.rectified + " 整改" : "") + ")", "hs-meta");
        if (h.overdue_days) line.appendChild(lateTag(h));
        item.appendChild(line);
        const step = stepPhotos(h);
        if (step.length) item.appendChild(HS.photoStrip(step, config.api, "整改照片"));
      }
      for (const h of ins.closed_hazards) {
        item.appendChild(el("div", "复查已整改:" + hazardText(h), "hs-meta"));
      }
      if (ins.note) item.appendChild(el("div", "备注:" + ins.note, "hs-meta"));
      if (ins.position && ins.position.distance_m !== undefined) item.appendChild(positionLine(ins.position));
      if (ins.photos && ins.photos.length) {
        item.appendChild(HS.photoStrip(ins.photos, config.api, (ins.campaign || "检查") + "照片"));
      }
      if (Inspect.decorateRecord) Inspect.decorateRecord(item, ins); // corrections.js
      list.appendChild(item);
    });
    const more = $("history-more");
    const hidden = data.inspections.length - HISTORY_SHOWN;
    more.textContent = "显示更早的 " + hidden + " 条记录";
    show(more, hidden > 0);
  }
  $("history-more").addEventListener("click", () => {
    for (const item of $("history").children) item.hidden = false;
    show($("history-more"), false);
  });

  function formError(form, text) {
    const box = form.querySelector(".hs-error");
    box.textContent = text || "";
    show(box, Boolean(text));
  }

  // The record form.

  function hazardRow() {
    const row = el("fieldset", null, "hs-hazard-row");
    row.appendChild(el("legend", "隐患"));
    const category = el("select");
    category.name = "category";
    category.required = true;
    category.appendChild(new Option("请选择类别", ""));
    for (const c of config.hazardCategories) category.appendChild(new Option(c, c));
    const description = el("input");
    description.name = "description";
    description.required = true;
    description.maxLength = config.maxLength.description;
    description.placeholder = "隐患描述,如:灭火器过期";
    const deadline = el("input");
    deadline.type = "date";
    deadline.name = "deadline";
    deadline.required = true;
    deadline.min = $("record-date").value || config.today;
    const inDays = new Date(config.today + "T00:00:00Z");
    inDays.setUTCDate(inDays.getUTCDate() + 15);
    deadline.value = inDays.toISOString().slice(0, 10);
    const remove = el("button", "删除此条", "hs-link");
    remove.type = "button";
    remove.addEventListener("click", () => {
      row.remove();
      if (!$("hazard-rows").children.length) setResult("合格");
      saveDraft();
    });
    for (const [label, input] of [["类别", category], ["描述", description], ["整改期限", deadline]]) {
      const wrap = el("label", label);
      wrap.appendChild(input);
      row.appendChild(wrap);
    }
    row.appendChild(remove);
    return row;
  }

  function setResult(value) {
    for (const radio of document.querySelectorAll("#record-form input[name=result]")) {
      radio.checked = radio.value === value;
    }
    onResultChange();
  }

  function onResultChange() {
    const found = document.querySelector("#record-form input[name=result]:checked").value === "发现隐患";
    const rows = $("hazard-rows");
    if (found && !rows.children.length) rows.appendChild(hazardRow());
    if (!found) clear(rows);
    show($("add-hazard"), found);
  }
  for (const radio of document.querySelectorAll("#record-form input[name=result]")) {
    radio.addEventListener("change", onResultChange);
  }
  $("add-hazard").addEventListener("click", () => $("hazard-rows").appendChild(hazardRow()));

  function resetRecordForm() {
    const form = $("record-form");
    $("record-date").value = config.today;
    $("record-date").max = config.today;
    $("record-inspector").value = config.user ? config.user.display_name : "";
    $("record-note").value = "";
    setResult("合格");
    formError(form, "");
    restoreDraft();
  }

  // The record form's draft, kept on the phone per venue until it is sent: a reload (or
  // a dead battery) does not lose what was written.
  const DRAFT_KEY = "huaishu.inspect.draft.";

  function hazardValues() {
    return Array.from($("hazard-rows").children).map((row) => ({
      category: row.querySelector("[name=category]").value,
      description: row.querySelector("[name=description]").value,
      deadline: row.querySelector("[name=deadline]").value,
    }));
  }

  function saveDraft() {
    if (!state.venueId) return;
    const draft = {
      date: $("record-date").value, inspector: $("record-inspector").value, note: $("record-note").value,
      result: $("record-form").querySelector("input[name=result]:checked").value, hazards: hazardValues(),
    };
    try { localStorage.setItem(DRAFT_KEY + state.venueId, JSON.stringify(draft)); } catch { /* storage off */ }
  }

  function forgetDraft(venueId) {
    try { localStorage.removeItem(DRAFT_KEY + venueId); } catch { /* storage off */ }
  }

  function restoreDraft() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(DRAFT_KEY + state.venueId) || "null"); } catch { /* none */ }
    show($("draft-note"), Boolean(draft));
    if (!draft) return;
    $("record-date").value = draft.date || config.today;
    $("record-inspector").value = draft.inspector || "";
    $("record-note").value = draft.note || "";
    setResult(draft.result === "发现隐患" ? "发现隐患" : "合格");
    const rows = clear($("hazard-rows"));
    for (const h of draft.hazards || []) {
      const row = hazardRow();
      row.querySelector("[name=category]").value = h.category || "";
      row.querySelector("[name=description]").value = h.description || "";
      row.querySelector("[name=deadline]").value = h.deadline || "";
      rows.appendChild(row);
    }
    if (draft.result === "发现隐患" && !rows.children.length) rows.appendChild(hazardRow());
  }

  $("record-form").addEventListener("input", saveDraft);
  $("record-form").addEventListener("change", saveDraft);
  $("add-hazard").addEventListener("click", saveDraft);

  $("record-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!form.checkValidity()) {
      form.reportValidity();
      formError(form, "请填写完整:检查人、日期(不晚于今天)和每条隐患的类别、描述、整改期限。");
      return;
    }
    const hazards = hazardValues();
    const payload = {
      venue_id: state.venueId,
      date: $("record-date").value,
      inspector: $("record-inspector").value,
      result: form.querySelector("input[name=result]:checked").value,
      hazards: hazards,
      note: $("record-note").value,
    };
    const what = "检查 " + venueName() + " " + payload.date + "," + payload.result;
    await submit(form, config.api.inspections, payload, recordedInspection, what);
  });

  function venueName() {
    return $("detail-name").textContent;
  }

  // 「已记录:…」 of an inspection or a re-check, from the server's answer.
  function recordedInspection(body) {
    const ins = body.inspection;
    const parts = [ins.date + " " + venueName() + " " + (ins.campaign || "检查") + "," + ins.result];
    if (ins.hazards.length) parts.push("立案隐患 " + ins.hazards.map((h) => h.id).join("、"));
    if (ins.closed_hazards.length) parts.push("已整改 " + ins.closed_hazards.map((h) => h.id).join("、"));
    if (ins.photos && ins.photos.length) parts.push("照片 " + ins.photos.length + " 张");
    parts.push("记录编号 " + ins.id);
    return "已记录:" + parts.join(";") + "。";
  }

  // The photo pickers of the forms (photos.js).
  const pickers = {
    "record-form": HS.photoPicker($("record-photos"), config.maxPhotos),
    "recheck-form": HS.photoPicker($("recheck-photos"), config.maxPhotos),
  };

  async function submit(form, url, payload, said, what) {
    const venueId = state.venueId;
    const button = form.querySelector("button[type=submit]");
    const picker = pickers[form.id];
    button.disabled = true;
    formError(form, "");
    let body;
    try {
      const photos = picker ? await picker.photos() : [];
      const position = await currentPosition();
      if (position) payload = Object.assign({}, payload, { position: position });
      body = await postRecord(url, payload, photos, what);
    } catch (error) {
      formError(form, "提交未成功:" + error.message + "。填写的内容仍在表单中,未记录任何内容;请稍后重试。");
      return;
    } finally {
      button.disabled = false;
    }
    if (form.id === "record-form") forgetDraft(venueId);
    if (body.queued) { // kept on the phone: the form is free for the next record
      if (form.id === "record-form") resetRecordForm();
      else show(form, false);
      if (picker) picker.clear();
      notice("已保存在本机,待发送:" + what + "。网络恢复后自动发送。");
      return;
    }
    if (picker) picker.clear();
    await refreshAfterWrite();
    notice(said(body));
  }

  async function refreshAfterWrite() {
    const venueId = state.venueId;
    await Promise.all([loadNearby(true), loadOverdue()]);
    if (venueId) await openVenue(venueId);
    document.body.dataset.saved = String(Date.now());
  }
  Inspect.refresh = refreshAfterWrite;

  async function startRectification(hazardId, button, picker) {
    button.disabled = true;
    let body;
    try {
      const photos = await picker.photos();
      body = await postRecord(apiUrl("hazardStatus", hazardId), { status: "整改中" }, photos,
        "隐患 " + hazardId + " 标记为整改中(" + venueName() + ")");
    } catch (error) {
      button.disabled = false;
      message("未能标记整改中:" + error.message + "。隐患状态未改变,请稍后重试。");
      return;
    }
    if (body.queued) {
      button.textContent = "整改中(待发送)";
      notice("已保存在本机,待发送:隐患 " + hazardId + " 标记为整改中。网络恢复后自动发送。");
      return;
    }
    const name = venueName();
    await refreshAfterWrite();
    const photos = stepPhotos(body.hazard).length;
    notice("已记录:" + name + " 隐患 " + body.hazard.id + "(" + body.hazard.category + ")标记为整改中" +
      (photos ? ",照片 " + photos + " 张" : "") + "。");
  }

  // The re-check form.

  function resetRecheckForm(rectifying) {
    const form = $("recheck-form");
    const list = clear($("recheck-list"));
    for (const h of rectifying) {
      const label = el("label", null, "hs-check");
      const box = el("input");
      box.type = "checkbox";
      box.value = h.id;
      box.checked = true;
      label.appendChild(box);
      label.appendChild(el("span", " 已整改:" + hazardText(h)));
      list.appendChild(label);
    }
    $("recheck-date").value = config.today;
    $("recheck-date").max = config.today;
    $("recheck-inspector").value = config.user ? config.user.display_name : "";
    $("recheck-note").value = "";
    formError(form, "");
  }

  $("recheck-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!form.checkValidity()) {
      form.reportValidity();
      formError(form, "请填写复查人和日期(不晚于今天)。");
      return;
    }
    const closed = Array.from(form.querySelectorAll("#recheck-list input:checked")).map((b) => b.value);
    const what = "复查 " + venueName() + " " + $("recheck-date").value + (closed.length ? ",已整改 " + closed.join("、") : "");
    await submit(form, config.api.rechecks, {
      venue_id: state.venueId,
      date: $("recheck-date").value,
      inspector: $("recheck-inspector").value,
      note: $("recheck-note").value,
      closed: closed,
    }, recordedInspection, what);
  });

  // --- start: restore a location and venue from the URL (e.g. after logging in) ----

  const params = new URLSearchParams(location.search);
  const startLon = params.get("lon");
  const startLat = params.get("lat");
  const startVenue = params.get("venue");
  fillKinds();
  if (TABS[params.get("list")]) state.tab = params.get("list");
  const startRadius = $("f-radius").querySelector('option[value="' + Number(params.get("radius")) + '"]');
  if (startRadius) $("f-radius").value = startRadius.value; // e.g. the radius of the area saved

  syncUrl();
  (async () => {
    if (startLon && startLat) {
      $("coords").value = startLon + "," + startLat;
      const crs = params.get("crs") || "wgs84";
      if (config.systems[crs]) $("crs").value = crs;
      await locate(Number(startLon), Number(startLat), $("crs").value);
    } else {
      await loadOverdue();
    }
    if (TABS[params.get("list")]) setTab(params.get("list")); // e.g. from the dashboard
    if (startVenue) await openVenue(startVenue);
    document.body.dataset.ready = "true";
  })();
})();
