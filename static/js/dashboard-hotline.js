// The dashboard's 12345 panel: work orders of 2022 by month and by community
// (per km²: where complaints concentrate), from /api/hotline. The total and the
// rates are the document's; months and places follow the illustrative positions.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const box = document.getElementById("db-hotline");
  if (!box || !config.hotlineUrl || !window.Chart) return;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function panel(id, title, labels, data, label, color) {
    const figure = el("figure", null, "db-chart");
    figure.dataset.chart = id;
    figure.appendChild(el("figcaption", title));
    const holder = el("div", null, "db-canvas");
    const canvas = el("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title + ":" + labels.map((l, i) => l + " " + data[i]).join(","));
    holder.appendChild(canvas);
    figure.appendChild(holder);
    box.appendChild(figure);
    return new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: label, data: data, backgroundColor: color }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } },
    });
  }

  fetch(config.hotlineUrl, { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
    .then((data) => {
      if (!data.total) return;
      box.hidden = false;
      const head = el("p", null, "db-source");
      head.textContent = "12345市民服务热线工单 " + data.total.toLocaleString("zh-CN") + " 件,回复率 " +
        data.rates.answered + "%、办结率 " + data.rates.closed + "%、满意率 " + data.rates.satisfied +
        "%(见工作总结);按月、按社区分布为示意。";
      box.appendChild(head);
      window.DashboardHotline = {
        months: panel("hotline-months", "12345工单(按月,示意)", data.by_month.map((m) => m.month),
          data.by_month.map((m) => m.count), "工单(件)", "#f5b041"),
        communities: panel("hotline-communities", "12345工单密度(按社区,件/平方公里,示意)",
          data.by_community.map((c) => c.community), data.by_community.map((c) => c.per_km2),
          "件/平方公里", "#b9770e"),
      };
      box.dataset.ready = "true";
    })
    .catch((error) => console.error("12345 figures failed to load:", error));
})();
