// The dashboard of the year's figures: everything comes from /api/figures (the
// data file geodata/figures_2022.json) and the parcel/project tables; nothing is
// written in the template. Text from data goes through textContent or onto canvases.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const Dashboard = (window.HuaishuDashboard = { charts: {}, ready: false });
  const POSITIVE = "#1e8449";
  const NEGATIVE = "#c0392b";
  const PALETTE = ["#1f4e79", "#2e86c1", "#5dade2", "#aed6f1", "#f5b041", "#ca6f1e"];

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  const el = HS.el;
  const number = (value) => HS.formatNumber(value);

  function valueText(f) {
    // "900余平方米", "近20场", "4,574万元"
    const n = number(f.value);
    if (f.qualifier === "近") return "近" + n + f.unit;
    return n + (f.qualifier || "") + f.unit;
  }

  function signed(pct) {
    return (pct > 0 ? "+" : pct < 0 ? "−" : "") + number(Math.abs(pct)) + "%";
  }

  function remark(f) {
    const parts = [];
    if ("plan_pct" in f) parts.push("完成年计划 " + number(f.plan_pct) + "%");
    if ("yoy_pct" in f) parts.push("同比 " + signed(f.yoy_pct));
    return parts.join(",");
  }

  function card(f) {
    const box = el("div", null, "db-card");
    box.dataset.figure = f.id;
    box.appendChild(el("div", f.label, "db-card-label"));
    box.appendChild(el("div", valueText(f), "db-card-value"));
    const note = remark(f);
    if (note) {
      const sub = el("div", note, "db-card-note");
      if ("yoy_pct" in f) sub.classList.add(f.yoy_pct < 0 ? "db-down" : "db-up");
      box.appendChild(sub);
    }
    if (f.quote) box.title = "原文:" + f.quote;
    return box;
  }

  function chartConfig(chart, figures) {
    const labels = figures.map((f) => f.label);
    const base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false }, title: { display: false } },
    };
    if (chart.type === "plan") {
      return {
        type: "bar",
        data: { labels: labels, datasets: [{ label: "完成年计划(%)", data: figures.map((f) => f.plan_pct),
          backgroundColor: "#2e86c1" }] },
        options: Object.assign({}, base, {
          indexAxis: "y",
          scales: { x: { min: 0, max: 100, ticks: { callback: (v) => v + "%" } } },
          plugins: Object.assign({}, base.plugins, { tooltip: { callbacks: {
            label: (ctx) => "完成年计划 " + number(ctx.raw) + "%(" + valueText(figures[ctx.dataIndex]) + ")" } } }),
        }),
      };
    }
    if (chart.type === "growth") {
      return {
        type: "bar",
        data: { labels: labels, datasets: [{ label: "同比(%)", data: figures.map((f) => f.yoy_pct),
          backgroundColor: figures.map((f) => (f.yoy_pct < 0 ? NEGATIVE : POSITIVE)) }] },
        options: Object.assign({}, base, {
          scales: { y: { ticks: { callback: (v) => v + "%" } } },
          plugins: Object.assign({}, base.plugins, { tooltip: { callbacks: {
            label: (ctx) => "同比 " + signed(ctx.raw) + "(" + valueText(figures[ctx.dataIndex]) + ")" } } }),
        }),
      };
    }
    if (chart.type === "share") {
      return {
        type: "doughnut",
        data: { labels: labels, datasets: [{ data: figures.map((f) => f.value),
          backgroundColor: figures.map((f, i) => PALETTE[i % PALETTE.length]) }] },
        options: Object.assign({}, base, {
          plugins: Object.assign({}, base.plugins, {
            legend: { display: true, position: "bottom" },
            tooltip: { callbacks: { label: (ctx) => ctx.label + ":" + valueText(figures[ctx.dataIndex]) } },
          }),
        }),
      };
    }
    return {
      type: "bar",
      data: { labels: labels, datasets: [{ label: chart.unit || figures[0].unit, data: figures.map((f) => f.value),
        backgroundColor: "#1f4e79" }] },
      options: Object.assign({}, base, {
        scales: { y: { beginAtZero: true, title: { display: true, text: chart.unit || figures[0].unit } } },
        plugins: Object.assign({}, base.plugins, { tooltip: { callbacks: {
          label: (ctx) => valueText(figures[ctx.dataIndex]) } } }),
      }),
    };
  }

  function renderCharts(data, byId) {
    const box = document.getElementById("db-charts");
    for (const chart of data.charts) {
      const figures = chart.figures.map((id) => byId[id]);
      const panel = el("figure", null, "db-chart");
      panel.dataset.chart = chart.id;
      panel.appendChild(el("figcaption", chart.title));
      const holder = el("div", null, "db-canvas");
      const canvas = el("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", chart.title + ":" + figures.map((f) => f.label + " " + valueText(f)).join(","));
      holder.appendChild(canvas);
      panel.appendChild(holder);
      box.appendChild(panel);
      Dashboard.charts[chart.id] = new Chart(canvas, chartConfig(chart, figures));
    }
  }

  function renderGroups(data) {
    const box = document.getElementById("db-groups");
    for (const group of data.groups) {
      const section = el("section", null, "db-group");
      section.dataset.group = group.id;
      section.appendChild(el("h2", group.title));
      const table = el("table", null, "rv-mini db-table");
      const head = el("tr");
      for (const h of ["指标", "数值", "说明", "出处"]) head.appendChild(el("th", h));
      table.appendChild(head);
      for (const f of group.figures) {
        const tr = el("tr");
        tr.dataset.figure = f.id;
        tr.appendChild(el("td", f.label));
        tr.appendChild(el("td", valueText(f), "rv-num"));
        tr.appendChild(el("td", remark(f)));
        tr.appendChild(el("td", f.quote ? "原文:" + f.quote : "推算:" + f.derived, "db-quote"));
        table.appendChild(tr);
      }
      section.appendChild(table);
      box.appendChild(section);
    }
  }

  function renderLand(parcels, projects) {
    const box = document.getElementById("db-land");
    box.appendChild(el("h2", "土地与项目(台账实时汇总)"));
    const row = el("div", null, "db-cards");
    const add = (id, label, value, note) => {
      const c = el("div", null, "db-card db-card-live");
      c.dataset.figure = id;
      c.appendChild(el("div", label, "db-card-label"));
      c.appendChild(el("div", value, "db-card-value"));
      if (note) c.appendChild(el("div", note, "db-card-note"));
      row.appendChild(c);
    };
    const p = parcels.totals;
    add("idle_land", "闲置土地", number(p.idle_area_mu) + "亩", p.idle_count + " 块,地块合计 " + number(p.area_mu) + " 亩");
    const t = projects.totals;
    // The year's investment is the document's; the plan and the investment to date are
    // illustrative in the shipped data (the /projects table's note says so).
    add("projects_building", "在建项目", t.by_status["在建"].count + " 个",
      "2022年完成投资 " + number(t.investment_2022_wan) + " 万元");
    box.appendChild(row);
  }

  Promise.all([HS.getJson(config.figuresUrl), HS.getJson(config.parcelsUrl), HS.getJson(config.projectsUrl)])
    .then(([data, parcels, projects]) => {
      const byId = {};
      for (const g of data.groups) for (const f of g.figures) byId[f.id] = f;
      document.getElementById("db-title").textContent = data.title;
      document.getElementById("db-source").textContent =
        data.period + " · 来源:" + data.source.document + "(" + (data.source.publisher || "") + "," + (data.source.date || "") + ")";
      const cards = document.getElementById("db-cards");
      for (const id of data.highlights) cards.appendChild(card(byId[id]));
      renderLand(parcels, projects);
      renderCharts(data, byId);
      renderGroups(data);
      document.getElementById("db-note").textContent = data.note || "";
      Dashboard.ready = true;
      document.body.dataset.dashboardReady = "true";
    })
    .catch((error) => {
      const node = document.getElementById("db-error");
      node.textContent = "指标加载失败:" + error.message;
      node.hidden = false;
      document.body.dataset.dashboardReady = "error";
    });
})();
