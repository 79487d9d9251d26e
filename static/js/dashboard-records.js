// The dashboard's live figures from the inspection records (/api/records/figures),
// beside the document's 2022 figures: inspections this year and this month, open
// hazards, and by community the venues 超期未整改 and 逾期未检, linked to their lists
// on /inspect. Text from data goes through textContent.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const box = document.getElementById("db-records");
  if (!box || !config.recordsUrl) return;
  const el = HS.el;
  const number = (value) => HS.formatNumber(value);

  function card(id, label, value, unit, link) {
    const node = el(link ? "a" : "div", null, "db-card db-card-live");
    if (link) node.href = link;
    node.dataset.figure = id;
    node.appendChild(el("div", label, "db-card-label"));
    node.appendChild(el("div", number(value) + unit, "db-card-value"));
    return node;
  }

  function link(href, text) {
    const a = el("a", text);
    a.href = href;
    return a;
  }

  HS.getJson(config.recordsUrl, { 401: "请先登录。", 403: "当前账号不能查看检查记录的统计。" })
    .then((data) => {
      const labels = data.labels;
      box.appendChild(el("h2", "检查记录实时数字(截至 " + data.date + ")"));
      const cards = el("div", null, "db-cards");
      cards.appendChild(card("inspections_this_year", "今年检查", data.inspections_this_year, "次"));
      cards.appendChild(card("inspections_this_month", "本月检查", data.inspections_this_month, "次"));
      cards.appendChild(card("open_hazards", "未整改隐患", data.open_hazards, "处"));
      cards.appendChild(card("rectification_overdue", labels.rectification_overdue + "场所",
        data.rectification_overdue, "个", data.lists.rectification_overdue));
      cards.appendChild(card("inspection_overdue", labels.inspection_overdue + "场所",
        data.inspection_overdue, "个", data.lists.inspection_overdue));
      box.appendChild(cards);
      const table = el("table", null, "rv-table db-records-table");
      const head = el("tr");
      for (const text of ["社区", "场所", "未整改隐患(处)"]) head.appendChild(el("th", text));
      const late = el("th");
      late.appendChild(link(data.lists.rectification_overdue, labels.rectification_overdue + "(个)"));
      const overdue = el("th");
      overdue.appendChild(link(data.lists.inspection_overdue, labels.inspection_overdue + "(个)"));
      head.appendChild(late);
      head.appendChild(overdue);
      table.appendChild(el("thead")).appendChild(head);
      const body = table.appendChild(el("tbody"));
      for (const row of data.by_community) {
        const tr = el("tr");
        tr.dataset.community = row.community;
        for (const value of [row.community, number(row.venues), number(row.open_hazards),
          number(row.rectification_overdue), number(row.inspection_overdue)]) {
          tr.appendChild(el("td", value));
        }
        body.appendChild(tr);
      }
      box.appendChild(table);
      box.hidden = false;
      box.dataset.ready = "true";
    })
    .catch((error) => {
      box.appendChild(el("p", "无法读取检查记录的统计:" + error.message, "rv-error"));
      box.hidden = false;
    });
})();
