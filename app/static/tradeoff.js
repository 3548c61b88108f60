// Draws the leaderboard's trade-off charts (app/templates/pages/leaderboard.html) with the
// vendored uPlot, from the page's JSON island (app/routes/pages/charts.py, chart_data): every
// entry of the whole board, a log-scale toggle for outliers, names only on focus or hover, and
// one button per entry so points are reachable by keyboard (on a big board: the front, your
// entry and the baselines). Without scripts each chart stays a table of its Pareto front.
"use strict";

(function () {
  const LISTED_ALL_UP_TO = 500;

  function draw(figure, points, log) {
    const holder = figure.querySelector(".uplot-holder");
    holder.textContent = "";
    const sorted = points.slice().sort((a, b) => a.mae - b.mae);
    const xs = sorted.map((p) => p.mae);
    const front = sorted.map((p) => (p.front ? p.bias : null));
    const rest = sorted.map((p) => (p.front ? null : p.bias));
    const distr = log ? 3 : 1;
    const noLine = () => null;
    return new uPlot(
      {
        width: Math.min(520, holder.clientWidth || 520),
        height: 300,
        legend: { show: false },
        scales: { x: { time: false, distr: distr }, y: { distr: distr } },
        axes: [{ label: "MAE ↓" }, { label: figure.dataset.attribute + " bias ↓" }],
        series: [
          {},
          { label: "Pareto front", stroke: "#b45309", paths: noLine, points: { show: true, size: 10 } },
          { label: "beaten on both", stroke: "#64748b", paths: noLine, points: { show: true, size: 7 } },
        ],
      },
      [xs, front, rest],
      holder,
    );
  }

  function pointsOf(data, score, you) {
    const chart = data.charts[score];
    const onFront = new Set(chart.front);
    const points = [];
    data.entries.forEach((entry, index) => {
      const bias = chart.bias[index];
      if (bias === null) return;
      const front = onFront.has(index);
      const mine = entry.submission === you;
      points.push({
        name: entry.name + (mine ? " (you)" : ""),
        mae: entry.mae,
        bias: bias,
        front: front,
        listed: front || mine || entry.baseline,
        title:
          entry.name + " · #" + entry.position + " · MAE " + entry.mae.toFixed(6) + " · " +
          chart.attribute + " bias " + bias.toFixed(6) + (front ? " · Pareto-optimal" : ""),
      });
    });
    return points;
  }

  function enhance(figure, data, you) {
    const score = figure.dataset.score;
    if (!data.charts[score] || typeof uPlot === "undefined") return;
    const points = pointsOf(data, score, you);
    if (points.length === 0) return;
    const positive = points.every((p) => p.mae > 0 && p.bias > 0);
    const holder = document.createElement("div");
    holder.className = "uplot-holder";
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "log-toggle";
    toggle.textContent = "Log scale";
    toggle.setAttribute("aria-pressed", "false");
    toggle.disabled = !positive;
    const output = document.createElement("output");
    output.className = "point-name small";
    const list = document.createElement("ul");
    list.className = "point-list small";
    list.setAttribute("aria-label", "Entries in this chart");
    const listed = points.length <= LISTED_ALL_UP_TO ? points : points.filter((p) => p.listed);
    listed.forEach((p) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "point-button" + (p.front ? " front" : "");
      button.textContent = p.name;
      const describe = () => {
        output.textContent = p.title;
        // Moves uPlot's crosshair onto the entry, so the named point is also shown.
        plot.setCursor({ left: plot.valToPos(p.mae, "x"), top: plot.valToPos(p.bias, "y") });
      };
      button.addEventListener("focus", describe);
      button.addEventListener("mouseenter", describe);
      item.appendChild(button);
      list.appendChild(item);
    });
    const fallback = figure.querySelector(".front-table");
    if (fallback) fallback.style.display = "none";
    figure.querySelector("figcaption").after(toggle, holder, output, list);
    let log = false;
    let plot = draw(figure, points, log);
    toggle.addEventListener("click", () => {
      log = !log;
      toggle.setAttribute("aria-pressed", String(log));
      figure.dataset.scale = log ? "log" : "linear";
      plot = draw(figure, points, log);
    });
    figure.dataset.scale = "linear";
  }

  const island = document.getElementById("tradeoff-data");
  const section = document.getElementById("tradeoff");
  if (!island || !section) return;
  const data = JSON.parse(island.textContent);
  const you = section.dataset.you ? Number(section.dataset.you) : null;
  document.querySelectorAll("figure.chart").forEach((figure) => enhance(figure, data, you));
})();
