(function () {
  // "On the air now": refreshes the table and the map every 10 s from /live/onair.json.
  // The map: the agency's tile server if one is configured (BODYCAM_LIVE_TILE_URL), otherwise
  // a plain plot of the positions (nothing leaves the server).
  const me = document.currentScript;
  const url = me.dataset.url, tiles = me.dataset.tiles, playerUrl = me.dataset.player;
  const ZONE = me.dataset.zone || "UTC";
  const map = document.getElementById("onair-map");
  const tbody = document.querySelector("#onair-table tbody");
  const SVG = "http://www.w3.org/2000/svg";
  const fmt = new Intl.DateTimeFormat("en-US", {timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit",
    day: "numeric", month: "short", hourCycle: "h23", timeZoneName: "short"});
  const when = iso => {
    const d = new Date(iso), t = document.createElement("time");
    t.dateTime = iso; t.title = d.toISOString().slice(0, 19).replace("T", " ") + " UTC"; t.textContent = fmt.format(d);
    return t;
  };
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "class") e.className = v; else e.setAttribute(k, v); });
    kids.forEach(k => e.append(k));
    return e;
  };

  function rows(sessions) {
    tbody.replaceChildren();
    if (!sessions.length) {
      tbody.append(el("tr", {class: "empty"}, el("td", {colspan: "5"},
        "Nobody you may watch is recording now. When an officer of a squad you supervise starts recording, " +
        "they appear here with the time, what started the recording and where the camera is.")));
      return;
    }
    for (const s of sessions) {
      const who = el("td", {}, s.officer);
      if (s.watchme_at) { who.append(" "); who.append(el("strong", {class: "badge"}, "Watch me")); }
      who.append(el("br"), el("small", {}, "camera " + s.device));
      const where = el("td", {});
      if (s.position) {
        where.append(`${s.position.lat.toFixed(5)}, ${s.position.lon.toFixed(5)}`, el("br"),
                     el("small", {}, when(s.position.at)));
      } else where.append("no position yet");
      if (s.stale) where.append(el("br"), el("small", {class: "error"}, "no contact since ", when(s.last_heard_at)));
      const link = el("a", {href: playerUrl.replace("00000000-0000-0000-0000-000000000000", s.id)}, "Watch");
      tbody.append(el("tr", {class: (s.watchme_at ? "watchme" : "") + (s.stale ? " stale" : ""), "data-session": s.id},
        who, el("td", {}, when(s.started_at)), el("td", {}, s.trigger_label), where, el("td", {}, link)));
    }
  }

  // Web Mercator, in pixels at zoom z
  const mx = (lon, z) => (lon + 180) / 360 * 256 * 2 ** z;
  const my = (lat, z) => { const r = lat * Math.PI / 180;
    return (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * 256 * 2 ** z; };

  function draw(sessions) {
    const pts = sessions.flatMap(s => s.trail);
    map.hidden = !pts.length;
    if (!pts.length) return;
    map.replaceChildren();
    const W = map.clientWidth || 600, H = map.clientHeight || 360, pad = 40;
    const lats = pts.map(p => p[0]), lons = pts.map(p => p[1]);
    const box = {n: Math.max(...lats), s: Math.min(...lats), e: Math.max(...lons), w: Math.min(...lons)};
    let project;
    if (tiles) {
      let z = 17;
      while (z > 1 && (mx(box.e, z) - mx(box.w, z) > W - 2 * pad || my(box.s, z) - my(box.n, z) > H - 2 * pad)) z--;
      const cx = (mx(box.e, z) + mx(box.w, z)) / 2 - W / 2, cy = (my(box.s, z) + my(box.n, z)) / 2 - H / 2;
      project = p => [mx(p[1], z) - cx, my(p[0], z) - cy];
      const n = 2 ** z;
      for (let tx = Math.floor(cx / 256); tx * 256 < cx + W; tx++) {
        for (let ty = Math.floor(cy / 256); ty * 256 < cy + H; ty++) {
          if (ty < 0 || ty >= n) continue;
          const img = el("img", {class: "tile", alt: "", src: tiles.replace("{z}", z).replace("{x}", ((tx % n) + n) % n)
            .replace("{y}", ty)});
          img.style.left = (tx * 256 - cx) + "px"; img.style.top = (ty * 256 - cy) + "px";
          map.append(img);
        }
      }
      map.append(el("span", {class: "attribution"}, "map: " + new URL(tiles.replace(/[{}]/g, "")).host));
    } else {
      // plain plot: equirectangular, north up, metres alike in both directions
      const k = Math.cos((box.n + box.s) / 2 * Math.PI / 180);
      const spanX = Math.max((box.e - box.w) * k, 1e-4), spanY = Math.max(box.n - box.s, 1e-4);
      const scale = Math.min((W - 2 * pad) / spanX, (H - 2 * pad) / spanY);
      const cx = (box.e + box.w) / 2, cy = (box.n + box.s) / 2;
      project = p => [W / 2 + (p[1] - cx) * k * scale, H / 2 - (p[0] - cy) * scale];
      const metres = Math.max(spanX, spanY) * 111320;  // 1° of latitude
      map.append(el("span", {class: "attribution"}, `plain plot, north up · about ${Math.round(metres)} m across ` +
        "(no map server configured)"));
    }
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(SVG, tag);
      Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v));
      if (text) e.textContent = text;
      svg.append(e);
    };
    for (const s of sessions) {
      if (!s.trail.length) continue;
      if (s.trail.length > 1) add("polyline", {class: "trail", points: s.trail.map(p => project(p).join(",")).join(" ")});
      const [x, y] = project(s.trail[s.trail.length - 1]);
      add("circle", {class: "dot" + (s.watchme_at ? " watchme" : ""), cx: x, cy: y, r: 7, "data-session": s.id});
      add("text", {x: x + 10, y: y + 4}, s.officer + (s.watchme_at ? " (watch me)" : ""));
    }
    map.append(svg);
  }

  async function refresh() {
    try {
      const r = await fetch(url, {credentials: "same-origin"});
      if (r.ok) { last = (await r.json()).sessions; rows(last); draw(last); }
    } catch (e) { /* the next refresh tries again */ }
  }
  let last = JSON.parse(me.dataset.initial || '{"sessions": []}').sessions;
  draw(last);
  setInterval(refresh, 10000);
  window.addEventListener("resize", () => draw(last));
})();
