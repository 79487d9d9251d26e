// Fills the map's layer groups from the GeoJSON API and draws them.
// Text from data only ever reaches the page through textContent: never
// innerHTML, never a template string, so names like <img onerror=...> or
// ${...} show literally.
(function () {
  "use strict";

  const HuaishuMap = (window.HuaishuMap = window.HuaishuMap || {});
  HuaishuMap.layers = {}; // name -> entry (see addLayer)
  HuaishuMap.basemaps = {}; // "none" or a configured basemap key (layers/basemaps/) -> Leaflet layer
  HuaishuMap.pending = 0;
  HuaishuMap.filter = { community: null };
  HuaishuMap.popupExtras = []; // functions (box, feature, config) adding to a popup (map-edit.js)

  HuaishuMap.MAX_ZOOM = 19;

  HuaishuMap.setMap = function (map) {
    HuaishuMap.map = map;
    // Clusters need a maximum zoom; without tiles the map has none of its own.
    if (map.options.maxZoom === undefined) map.setMaxZoom(HuaishuMap.MAX_ZOOM);
  };

  HuaishuMap.addBasemap = function (key, layer) {
    HuaishuMap.basemaps[key] = layer;
  };

  const el = HS.el;

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent("huaishu:" + name, { detail: detail }));
  }
  HuaishuMap.emit = emit;

  function popupContent(feature, config) {
    const props = feature.properties || {};
    const box = el("div", null, "hs-popup");
    box.appendChild(el("h3", props[config.tooltip] || config.title));
    box.appendChild(el("div", config.title, "hs-popup-layer"));
    const table = el("table");
    for (const row of config.popup) {
      const text = HS.formatValue(props[row.field], row.unit);
      if (text === null) continue;
      const tr = el("tr");
      tr.appendChild(el("th", row.label));
      const td = el("td", text);
      if (row.field === "status" && config.theme && config.theme.kind === "venues") {
        td.style.color = statusColor(config.theme, props.status);
        td.style.fontWeight = "bold";
      }
      tr.appendChild(td);
      table.appendChild(tr);
    }
    box.appendChild(table);
    for (const extra of HuaishuMap.popupExtras) extra(box, feature, config);
    return box;
  }
  HuaishuMap.popupContent = popupContent;

  function tooltipContent(feature, config) {
    const props = feature.properties || {};
    return el("span", props[config.tooltip] || config.title);
  }

  // --- thematic symbols (values and colours come from layers/catalogue/styles.py) ---

  function lookup(list, value) {
    return list.find((item) => item.value === value) || null;
  }
  HuaishuMap.lookup = lookup;

  function statusColor(theme, status) {
    const found = lookup(theme.statuses, status);
    return found ? found.color : theme.unknownColor;
  }

  function venueIcon(props, theme) {
    const shape = (lookup(theme.shapes, props.category) || { shape: "circle" }).shape;
    const glyph = (lookup(theme.glyphs, props.kind) || { glyph: "" }).glyph;
    const node = el("div", glyph, "hs-venue hs-venue-" + shape);
    node.style.background = statusColor(theme, props.status);
    return L.divIcon({
      html: node,
      className: "hs-icon",
      iconSize: [20, 20],
      iconAnchor: [10, 10],
      popupAnchor: [0, -10],
      tooltipAnchor: [10, 0],
    });
  }

  function garbageSize(theme, bins) {
    return theme.sizes.find((s) => s.max === null || bins <= s.max).diameter;
  }
  HuaishuMap.garbageSize = garbageSize;

  // A pie of the kinds a point takes, in proportion to their bins.
  function garbagePie(theme, counts) {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    const stops = [];
    let start = 0;
    theme.kinds.forEach((kind, i) => {
      if (!counts[i]) return;
      const end = start + (counts[i] / total) * 360;
      stops.push(kind.color + " " + start.toFixed(1) + "deg " + end.toFixed(1) + "deg");
      start = end;
    });
    return "conic-gradient(" + stops.join(", ") + ")";
  }
  HuaishuMap.garbagePie = garbagePie;

  function garbageIcon(props, theme) {
    const counts = theme.kinds.map((kind) => Math.max(0, Number(props[kind.field]) || 0));
    const size = garbageSize(theme, Number(props.bins) || 0);
    const node = el("div", null, "hs-bin");
    node.style.width = node.style.height = size + "px";
    node.style.background = garbagePie(theme, counts);
    return L.divIcon({
      html: node,
      className: "hs-icon",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      popupAnchor: [0, -size / 2],
      tooltipAnchor: [size / 2, 0],
    });
  }

  function featureStyle(feature, config) {
    const style = Object.assign({}, config.style);
    if (config.pane) style.pane = config.pane.name;
    // Outline-only polygons are not filled, so clicks reach what lies below.
    if (config.geometry === "Polygon" && !style.fillOpacity) style.fill = false;
    const theme = config.theme;
    const props = (feature && feature.properties) || {};
    if (theme && theme.kind === "category") {
      const found = lookup(theme.values, props[theme.field]);
      if (found) style.color = style.fillColor = found.color;
      if (theme.dashed && props[theme.dashed.field] === theme.dashed.value) {
        style.dashArray = theme.dashed.dashArray;
      }
    } else if (theme && theme.kind === "roads") {
      const found = lookup(theme.values, props[theme.field]);
      if (found) {
        style.color = found.color;
        style.weight = found.weight;
        style.dashArray = null;
        style.lineCap = found.casing ? "butt" : "round";
      }
    }
    return style;
  }
  HuaishuMap.featureStyle = featureStyle;

  function pointLayer(feature, latlng, config) {
    const theme = config.theme;
    if (theme && theme.kind === "venues") return L.marker(latlng, { icon: venueIcon(feature.properties, theme) });
    if (theme && theme.kind === "garbage") return L.marker(latlng, { icon: garbageIcon(feature.properties, theme) });
    return L.circleMarker(latlng, featureStyle(feature, config));
  }

  // The railway: a white dashed line over the black one.
  function decorations(entry) {
    const theme = entry.config.theme;
    if (!theme || theme.kind !== "roads") return [];
    const out = [];
    for (const layer of entry.items) {
      const found = lookup(theme.values, layer.feature.properties[theme.field]);
      if (!found || !found.casing) continue;
      out.push(
        L.polyline(layer.getLatLngs(), {
          color: found.dashColor,
          weight: found.dashWeight,
          dashArray: found.dashArray,
          lineCap: "butt",
          interactive: false,
          pane: entry.config.pane ? entry.config.pane.name : "overlayPane",
        })
      );
    }
    return out;
  }

  // Outlines drawn once more in a pane of their own, above the layers that would
  // hide them (community borders run along roads). Not interactive: clicks and
  // tooltips belong to the features themselves. Each outline goes with its feature
  // (layer.hsOutline), so that the community filter hides both.
  function outlines(entry) {
    const pane = entry.config.outlinePane;
    if (!pane) return;
    ensurePane(pane);
    for (const layer of entry.items) {
      const style = Object.assign(featureStyle(layer.feature, entry.config), {
        pane: pane.name,
        fill: false,
        interactive: false,
      });
      layer.hsOutline = L.polygon(layer.getLatLngs(), style).addTo(entry.group);
    }
  }

  // --- clusters ----------------------------------------------------------------

  // Venue clusters are a ring of their statuses, each in proportion to its venues
  // (so a print shows how much is red, not whether anything is); garbage clusters
  // are a pie of their bins by kind, like the points.
  function clusterColor(markers, config) {
    const theme = config.theme;
    if (theme && theme.kind === "garbage") {
      const counts = theme.kinds.map((kind) =>
        markers.reduce((sum, m) => sum + Math.max(0, Number(m.feature.properties[kind.field]) || 0), 0)
      );
      return garbagePie(theme, counts);
    }
    if (!theme || theme.kind !== "venues") return config.style.color;
    return statusRing(theme, markers.map((m) => m.feature.properties.status));
  }

  // Shares of each status (worst first, clockwise from the top), unknown ones grey.
  function statusRing(theme, statuses) {
    const colors = theme.statuses.map((s) => s.color).concat([theme.unknownColor]);
    const counts = theme.statuses.map((s) => statuses.filter((v) => v === s.value).length);
    counts.push(statuses.length - counts.reduce((a, b) => a + b, 0));
    return garbagePie({ kinds: colors.map((color) => ({ color: color })) }, counts);
  }
  HuaishuMap.statusRing = statusRing;

  function clusterGroup(config) {
    return L.markerClusterGroup({
      // Wider when zoomed out, so that the clusters of two layers leave each other room.
      maxClusterRadius: (zoom) => (zoom < 16.5 ? config.clusterRadius || 64 : 45),
      disableClusteringAtZoom: 18,
      showCoverageOnHover: false,
      chunkedLoading: true,
      iconCreateFunction: (cluster) => {
        const count = cluster.getChildCount();
        const size = count < 10 ? 30 : count < 50 ? 36 : 42;
        const node = el("div", null, "hs-cluster hs-cluster-" + config.name);
        node.appendChild(el("span", String(count), "hs-cluster-count"));
        const markers = cluster.getAllChildMarkers();
        node.style.background = clusterColor(markers, config);
        if (config.theme && config.theme.kind === "venues") {
          // Venues by status (the theme's order), the ring's shares, for a tooltip and tests.
          const counts = config.theme.statuses.map((s) => markers.filter((m) => m.feature.properties.status === s.value).length);
          node.dataset.shares = counts.join(",");
          node.title = config.theme.statuses.map((s, i) => s.value + " " + counts[i]).join(",");
        }
        return L.divIcon({ html: node, className: "hs-icon hs-cluster-icon", iconSize: [size, size] });
      },
    });
  }

  // --- layers --------------------------------------------------------------------

  function ensurePane(pane) {
    if (!pane || HuaishuMap.map.getPane(pane.name)) return;
    const node = HuaishuMap.map.createPane(pane.name);
    node.style.zIndex = String(pane.zIndex);
    node.classList.add("hs-data-pane");
  }
  HuaishuMap.ensurePane = ensurePane;

  function geoJsonLayer(collection, config) {
    return L.geoJSON(collection, {
      style: (feature) => featureStyle(feature, config),
      pointToLayer: (feature, latlng) => pointLayer(feature, latlng, config),
      onEachFeature: (feature, layer) => {
        layer.bindPopup(() => popupContent(feature, config), {
          maxWidth: config.popupMaxWidth,
          minWidth: config.popupMinWidth || 200,
        });
        if (config.geometry !== "LineString" || feature.properties[config.tooltip]) {
          layer.bindTooltip(() => tooltipContent(feature, config), { sticky: config.geometry !== "Point" });
        }
        layer.on("click", () => emit("feature-click", { layer: config.name, feature: feature, target: layer }));
      },
    });
  }

  // Does a feature pass the community filter? Layers without communities always do.
  function passes(entry, feature) {
    const key = entry.config.communityField;
    const community = HuaishuMap.filter.community;
    return !community || !key || feature.properties[key] === community;
  }
  HuaishuMap.passes = passes;

  function applyFilter(entry) {
    if (!entry.loaded) return;
    if (entry.server) {
      // Server clusters count the whole layer; the features in view are filtered.
      for (const layer of entry.items) {
        if (passes(entry, layer.feature)) entry.geojson.addLayer(layer);
        else entry.geojson.removeLayer(layer);
      }
      return;
    }
    const visible = entry.items.filter((layer) => passes(entry, layer.feature));
    entry.visibleCount = visible.length;
    if (entry.heat) {
      const points = visible.map((layer) => layer.getLatLng());
      // Leaflet.heat redraws on setLatLngs, which fails while the layer is off the map:
      // then keep the points for its next drawing.
      if (entry.heat._map) entry.heat.setLatLngs(points);
      else entry.heat._latlngs = points;
      return;
    }
    if (entry.cluster) {
      entry.cluster.clearLayers();
      entry.cluster.addLayers(visible);
      return;
    }
    for (const layer of entry.items) {
      const shown = passes(entry, layer.feature);
      if (shown) entry.geojson.addLayer(layer);
      else entry.geojson.removeLayer(layer);
      if (layer.hsOutline && shown) entry.group.addLayer(layer.hsOutline);
      else if (layer.hsOutline) entry.group.removeLayer(layer.hsOutline);
    }
  }

  // Show only the features of one community (null: all).
  HuaishuMap.setCommunityFilter = function (community) {
    HuaishuMap.filter.community = community || null;
    for (const entry of Object.values(HuaishuMap.layers)) applyFilter(entry);
    emit("filter", { community: HuaishuMap.filter.community });
  };

  HuaishuMap.isShown = function (name) {
    const entry = HuaishuMap.layers[name];
    return !!entry && HuaishuMap.map.hasLayer(entry.group);
  };

  HuaishuMap.setShown = function (name, shown) {
    const entry = HuaishuMap.layers[name];
    if (!entry || HuaishuMap.isShown(name) === shown) return;
    if (shown) HuaishuMap.map.addLayer(entry.group);
    else HuaishuMap.map.removeLayer(entry.group);
    emit("visibility", { layer: name, shown: shown });
  };

  // Zoom to a feature and open its popup, showing its layer and lifting a filter that hides it.
  HuaishuMap.focusFeature = function (name, layer) {
    const entry = HuaishuMap.layers[name];
    HuaishuMap.setShown(name, true);
    if (!passes(entry, layer.feature)) HuaishuMap.setCommunityFilter(null);
    const map = HuaishuMap.map;
    if (entry.cluster) {
      map.setView(layer.getLatLng(), Math.max(map.getZoom(), 18), { animate: false });
      entry.cluster.zoomToShowLayer(layer, () => layer.openPopup());
    } else if (layer.getBounds) {
      const fit = HuaishuMap.fitOptions ? HuaishuMap.fitOptions() : { padding: [40, 40], animate: false };
      map.fitBounds(layer.getBounds(), Object.assign(fit, { maxZoom: 18 }));
      layer.openPopup();
    } else {
      map.setView(layer.getLatLng(), Math.max(map.getZoom(), 18), { animate: false });
      layer.openPopup();
    }
    emit("focus", { layer: name, feature: layer.feature });
  };

  HuaishuMap.addLayer = function (group, config) {
    const entry = {
      group: group,
      config: config,
      count: 0,
      visibleCount: 0,
      loaded: false,
      error: null,
      items: [],
      geojson: null,
      cluster: null,
    };
    HuaishuMap.layers[config.name] = entry;
    HuaishuMap.pending += 1;
    ensurePane(config.pane);
    if (config.serverCluster) {
      serverClusters(entry);
      return;
    }
    if (config.vectorTiles && L.vectorGrid) { // pages without the plugin fetch it whole
      vectorTiles(entry);
      return;
    }
    fetchWhole(entry)
      .catch((error) => {
        entry.error = String(error);
        console.error("layer " + config.name + " failed to load:", error);
      })
      .finally(() => layerDone(config.name));
  };

  // A layer the page holds whole: fetched and drawn (again after an edit: reloadLayer).
  function fetchWhole(entry) {
    const config = entry.config;
    const group = entry.group;
    return HS.getJson(config.url, null, "application/geo+json")
      .then((collection) => {
        group.clearLayers();
        entry.geojson = geoJsonLayer(collection, config);
        entry.items = entry.geojson.getLayers();
        if (config.heat && L.heatLayer) {
          // A heat map of the points (their density is the message), not the markers.
          entry.heat = L.heatLayer(entry.items.map((l) => l.getLatLng()), config.heat).addTo(group);
        } else if (config.cluster) {
          entry.cluster = clusterGroup(config).addTo(group);
          entry.cluster.addLayers(entry.items);
        } else {
          entry.geojson.addTo(group);
        }
        entry.display = entry.heat || entry.cluster || entry.geojson;
        for (const extra of decorations(entry)) extra.addTo(group);
        outlines(entry);
        entry.count = entry.visibleCount = collection.features.length;
        entry.loaded = true;
        applyFilter(entry);
        if (!config.pane && config.name === "boundary") entry.geojson.bringToBack();
      });
  }

  // After an edit (map-edit.js): the layer drawn again as the server has it now.
  HuaishuMap.reloadLayer = function (name) {
    const entry = HuaishuMap.layers[name];
    if (!entry) return Promise.resolve();
    if (entry.server) return entry.refreshNow();
    if (entry.vector) {
      entry.tiles.redraw();
      return Promise.resolve();
    }
    return fetchWhole(entry).then(() => emit("layer-reloaded", { layer: name }));
  };

  function layerDone(name) {
    HuaishuMap.pending -= 1;
    emit("layer-loaded", { layer: name });
    if (HuaishuMap.pending === 0) {
      document.body.dataset.layersLoaded = "true";
      emit("layers-loaded", {});
    }
  }

  // --- server clusters (large point layers) ----------------------------------------

  // A layer too large for the browser: the server clusters the map's view by zoom
  // (/api/layers/<name>/clusters); the view is fetched again after each move or
  // zoom (debounced), and an answer that a newer request overtook is dropped.
  const REFRESH_DELAY_MS = 150;

  function compactCount(count) {
    return count >= 10000 ? HS.formatNumber(count / 10000, 1) + "万" : String(count);
  }

  function serverClusterMarker(feature, latlng, config) {
    const count = feature.properties.count;
    const size = count < 100 ? 32 : count < 1000 ? 38 : count < 10000 ? 44 : 50;
    const node = el("div", null, "hs-cluster hs-server-cluster hs-cluster-" + config.name);
    node.dataset.count = String(count);
    node.appendChild(el("span", compactCount(count), "hs-cluster-count"));
    node.style.background = config.style.color;
    const marker = L.marker(latlng, {
      icon: L.divIcon({ html: node, className: "hs-icon hs-cluster-icon", iconSize: [size, size] }),
      title: HS.formatNumber(count, 0) + " 处 · 点击放大",
    });
    marker.on("click", () => {
      const b = feature.properties.bbox;
      const map = HuaishuMap.map;
      const bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
      const zoom = Math.min(map.getBoundsZoom(bounds), map.getMaxZoom());
      map.setView(bounds.getCenter(), Math.max(zoom, map.getZoom() + 1), { animate: false });
    });
    return marker;
  }

  function serverClusters(entry) {
    const config = entry.config;
    const map = HuaishuMap.map;
    let controller = null;
    let timer = null;
    entry.server = true;
    entry.count = entry.visibleCount = config.count;
    entry.geojson = L.geoJSON(null).addTo(entry.group);
    entry.display = entry.geojson;

    function draw(collection) {
      const clusters = collection.features.filter((f) => f.properties.cluster);
      const features = collection.features.filter((f) => !f.properties.cluster);
      entry.geojson.clearLayers();
      for (const feature of clusters) {
        const [lon, lat] = feature.geometry.coordinates;
        entry.geojson.addLayer(serverClusterMarker(feature, L.latLng(lat, lon), config));
      }
      const single = geoJsonLayer({ type: "FeatureCollection", features: features }, config);
      entry.items = single.getLayers();
      for (const layer of entry.items) entry.geojson.addLayer(layer);
      entry.view = { zoom: collection.zoom, total: collection.total, clustered: collection.clustered };
      applyFilter(entry);
    }

    function refresh() {
      timer = null;
      if (!map.hasLayer(entry.group) && entry.counted) return Promise.resolve();
      if (controller) controller.abort();
      controller = new AbortController();
      const b = map.getBounds();
      const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
      const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
                    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
        .map((v) => v.toFixed(6)).join(",");
      const url = config.clustersUrl + "?bbox=" + bbox + "&zoom=" + map.getZoom();
      const mine = controller;
      return HS.fetchJson(url, { headers: { Accept: "application/geo+json" }, signal: mine.signal })
        .then((collection) => {
          if (mine !== controller) return;
          entry.loaded = true;
          draw(collection);
          entry.error = null;
        })
        .catch((error) => {
          if (error.name === "AbortError") return;
          entry.error = String(error);
          console.error("layer " + config.name + " failed to load:", error);
        })
        .finally(() => {
          if (mine !== controller || entry.counted) return;
          entry.counted = true; // the page's first load of this layer is over
          layerDone(config.name);
        });
    }

    entry.refreshNow = refresh;

    function later() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(refresh, REFRESH_DELAY_MS);
    }

    map.on("moveend", later);
    document.addEventListener("huaishu:visibility", (e) => {
      if (e.detail.layer === config.name && e.detail.shown) later();
    });
    later();
  }

  // --- vector tiles (layers too large to fetch whole) -----------------------------

  // A layer with more features than the page fetches whole (and not a point layer the
  // server clusters) is drawn from the OGC API's vector tiles (leaflet.vectorgrid): the
  // map asks only for the tiles in view, whatever the layer's size.
  if (L.DomEvent && !L.DomEvent.fakeStop) {
    // Leaflet.VectorGrid 1.3 calls this on clicks; Leaflet 1.8 removed it.
    L.DomEvent.fakeStop = function () { return true; };
  }

  function vectorTiles(entry) {
    const config = entry.config;
    const style = Object.assign({ radius: 5, fill: config.geometry !== "LineString" },
      config.style);
    const styles = {};
    styles[config.name] = style;
    entry.vector = true;
    entry.count = entry.visibleCount = config.count;
    entry.geojson = L.geoJSON(null).addTo(entry.group); // what other scripts look at: none
    entry.tiles = L.vectorGrid.protobuf(config.tilesUrl, {
      vectorTileLayerStyles: styles,
      interactive: true,
      maxZoom: 22,
      pane: config.pane ? config.pane.name : "overlayPane",
      getFeatureId: (feature) => feature.properties.id,
    }).addTo(entry.group);
    entry.display = entry.tiles;
    entry.tiles.on("click", (e) => {
      L.popup({ maxWidth: config.popupMaxWidth, minWidth: config.popupMinWidth || 200 })
        .setLatLng(e.latlng)
        .setContent(popupContent({ properties: e.layer.properties }, config))
        .openOn(HuaishuMap.map);
    });
    let done = false;
    function loaded() {
      if (done) return;
      done = true;
      entry.loaded = true;
      layerDone(config.name);
    }
    entry.tiles.once("load", loaded);
    entry.tiles.on("tileerror", (e) => {
      entry.error = "矢量瓦片加载失败 (" + (e.coords ? e.coords.z + "/" + e.coords.y + "/" + e.coords.x : "") + ")";
      console.error("layer " + config.name + " failed to load a tile", e);
      loaded();
    });
    // A layer off the map loads no tiles: it is done for the page's first load.
    if (!HuaishuMap.map || !HuaishuMap.map.hasLayer(entry.group)) loaded();
  }

  // Run `callback` once every layer has loaded (at once if they have).
  HuaishuMap.whenLoaded = function (callback) {
    if (document.body.dataset.layersLoaded === "true") callback();
    else document.addEventListener("huaishu:layers-loaded", callback, { once: true });
  };
})();
