// Redraws each server-rendered trade-off chart (app/templates/pages/leaderboard.html) with the
// vendored uPlot: a log-scale toggle for outliers, names only on focus or hover, and one button
// per entry so every point is reachable by keyboard. Without scripts the inline SVG stays.
"use strict";

(function () {
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

  function enhance(figure) {
    const island = figure.querySelector("script.chart-data");
    const svg = figure.querySelector("svg.tradeoff-chart");
    if (!island || !svg || typeof uPlot === "undefined") return;
    const points = JSON.parse(island.textContent);
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
    points.forEach((p) => {
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
    svg.style.display = "none";
    svg.after(toggle, holder, output, list);
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

  document.querySelectorAll("figure.chart").forEach(enhance);
})();
