// Live charts of the monitor's detail pages: polls the page's statistics as
// JSON, keeps the last points of each series in memory and draws them as SVG
// line charts. No dependencies; served from the binary (go:embed).
//
// Every chart <figure> carries the last value of each of its series in
// data-<series> and the largest value seen in data-<series>-max, so that a
// person reading the DOM, or a test, sees exactly what is drawn.
(function () {
	"use strict";
	var live = document.getElementById("live");
	if (!live) {
		return;
	}
	var source = live.getAttribute("data-source");
	var kind = live.getAttribute("data-kind");
	var interval = Number(live.getAttribute("data-interval")) || 1000;
	var tablesEvery = 5; // polls between refreshes of the tables
	var maxPoints = 120;
	var svgNS = "http://www.w3.org/2000/svg";

	function each(obj, f) {
		if (obj) {
			Object.keys(obj).forEach(function (k) { f(obj[k], k); });
		}
	}

	// remaining is RecoveryStats.Remaining: the records recovery has still
	// to apply; a negative offset means nothing is stored yet.
	function remaining(rec) {
		if (!rec) {
			return 0;
		}
		var next = rec.Offset < 0 ? 0 : rec.Offset + 1;
		return Math.max(rec.Hwm - next, 0);
	}

	// summarize reduces a ProcessorStats or ViewStats to the charted totals.
	function summarize(stats) {
		var s = { lag: 0, consumed: 0, produced: 0, recovered: 0, left: 0, partitions: 0, running: 0 };
		function table(ts) {
			if (!ts) {
				return;
			}
			s.partitions++;
			if (ts.Status === 5) {
				s.running++;
			}
			s.left += remaining(ts.Recovery);
			if (ts.Input) {
				s.recovered += ts.Input.Count;
			}
		}
		if (kind === "view") {
			each(stats.Partitions, function (ts) {
				table(ts);
				if (ts && ts.Input) {
					s.consumed += ts.Input.Count;
				}
			});
			s.lag = s.left;
			return s;
		}
		each(stats.Group, function (ps) {
			table(ps.TableStats);
			each(ps.Joined, table);
			each(ps.Input, function (in_) {
				s.lag += Math.max(in_.OffsetLag, 0);
				s.consumed += in_.Count;
			});
			each(ps.Output, function (out) { s.produced += out.Count; });
		});
		each(stats.Lookup, function (vs) { each(vs && vs.Partitions, table); });
		return s;
	}

	function Chart(id, title, series) {
		this.fig = document.getElementById(id);
		this.series = series; // [{key, label, color}]
		this.points = series.map(function () { return []; });
		this.max = series.map(function () { return 0; });
		this.title = title;
		if (!this.fig) {
			return;
		}
		var cap = document.createElement("figcaption");
		this.fig.appendChild(cap);
		this.caption = cap;
		var svg = document.createElementNS(svgNS, "svg");
		svg.setAttribute("viewBox", "0 0 300 100");
		svg.setAttribute("preserveAspectRatio", "none");
		svg.setAttribute("role", "img");
		svg.setAttribute("aria-label", title);
		this.lines = series.map(function (sr) {
			var line = document.createElementNS(svgNS, "polyline");
			line.setAttribute("fill", "none");
			line.setAttribute("stroke", sr.color);
			line.setAttribute("stroke-width", "1.5");
			line.setAttribute("vector-effect", "non-scaling-stroke");
			svg.appendChild(line);
			return line;
		});
		this.fig.appendChild(svg);
	}

	Chart.prototype.add = function (values) {
		if (!this.fig) {
			return;
		}
		var self = this;
		var top = 0;
		this.series.forEach(function (sr, i) {
			var v = values[sr.key];
			var pts = self.points[i];
			pts.push(v);
			if (pts.length > maxPoints) {
				pts.shift();
			}
			self.max[i] = Math.max(self.max[i], v);
			self.fig.setAttribute("data-" + sr.key, String(v));
			self.fig.setAttribute("data-" + sr.key + "-max", String(self.max[i]));
			pts.forEach(function (p) { top = Math.max(top, p); });
		});
		top = top || 1;
		this.series.forEach(function (sr, i) {
			var pts = self.points[i];
			var step = 300 / (maxPoints - 1);
			var x0 = 300 - (pts.length - 1) * step;
			self.lines[i].setAttribute("points", pts.map(function (p, j) {
				return (x0 + j * step).toFixed(1) + "," + (100 - 95 * p / top).toFixed(1);
			}).join(" "));
		});
		this.caption.textContent = this.title + ": " + this.series.map(function (sr) {
			return sr.label + " " + format(values[sr.key]);
		}).join(", ") + " (scale " + format(top) + ")";
	};

	function format(v) {
		return v % 1 === 0 ? String(v) : v.toFixed(1);
	}

	var lagChart = new Chart("chart-lag", kind === "view" ? "Records behind" : "Consumer lag (messages)",
		[{ key: "lag", label: "lag", color: "#c0392b" }]);
	var rateChart = new Chart("chart-throughput", "Throughput (messages/s)",
		[{ key: "in", label: "in", color: "#2471a3" }, { key: "out", label: "out", color: "#229954" }]);
	var recChart = new Chart("chart-recovery", "Table recovery (records)",
		[{ key: "recovered", label: "loaded", color: "#7d3c98" }, { key: "left", label: "left", color: "#ca6f1e" }]);
	var status = document.getElementById("live-status");

	var last = null;
	var polls = 0;

	function refreshTables() {
		var target = document.getElementById("tables");
		if (!target) {
			return;
		}
		fetch(window.location.href, { headers: { Accept: "text/html" } }).then(function (resp) {
			if (!resp.ok) {
				throw new Error("HTTP " + resp.status);
			}
			return resp.text();
		}).then(function (html) {
			var doc = new DOMParser().parseFromString(html, "text/html");
			var fresh = doc.getElementById("tables");
			if (fresh) {
				target.innerHTML = fresh.innerHTML;
			}
		}).catch(function (err) { setStatus("tables not refreshed: " + err.message); });
	}

	function setStatus(text) {
		if (status) {
			status.textContent = text;
		}
	}

	function poll() {
		fetch(source, { headers: { Accept: "application/json" } }).then(function (resp) {
			if (!resp.ok) {
				throw new Error("HTTP " + resp.status);
			}
			return resp.json();
		}).then(function (stats) {
			var now = Date.now();
			var s = summarize(stats);
			var rates = { in: 0, out: 0 };
			if (last) {
				var dt = (now - last.at) / 1000;
				if (dt > 0) {
					rates.in = Math.max(s.consumed - last.s.consumed, 0) / dt;
					rates.out = Math.max(s.produced - last.s.produced, 0) / dt;
				}
			}
			last = { at: now, s: s };
			lagChart.add({ lag: s.lag });
			rateChart.add(rates);
			if (rateChart.fig) {
				rateChart.fig.setAttribute("data-consumed", String(s.consumed));
				rateChart.fig.setAttribute("data-produced", String(s.produced));
			}
			recChart.add({ recovered: s.recovered, left: s.left });
			if (recChart.fig) {
				recChart.fig.setAttribute("data-running", String(s.running));
				recChart.fig.setAttribute("data-partitions", String(s.partitions));
			}
			setStatus(s.running + " of " + s.partitions + " table partitions running; updated " + new Date(now).toLocaleTimeString());
			live.setAttribute("data-polls", String(++polls));
			if (polls % tablesEvery === 0) {
				refreshTables();
			}
		}).catch(function (err) {
			setStatus("statistics not updated: " + err.message);
		}).then(function () {
			window.setTimeout(poll, interval);
		});
	}
	poll();
})();
