(function () {
  const v = document.getElementById("player");
  const clock = document.getElementById("clock");
  const FRAME = 1 / 30;
  const seek = t => { v.currentTime = Math.max(0, Math.min(t, (v.duration || t))); };
  // Bookmark markers: each on the seek bar (its offset is within the clip), never past either end.
  const bar = document.getElementById("markers"), length = parseFloat(bar.dataset.duration) || 0;
  bar.querySelectorAll(".marker").forEach(b => {
    const f = length > 0 ? Math.min(1, Math.max(0, parseFloat(b.dataset.at) / length)) : 0;
    b.style.left = `calc((100% - ${b.offsetWidth || 6}px) * ${f})`;
  });
  document.querySelectorAll(".seek, .marker").forEach(b => b.addEventListener("click", () => { seek(parseFloat(b.dataset.at)); v.focus(); }));
  document.querySelectorAll("[data-skip]").forEach(b => b.addEventListener("click", () => seek(v.currentTime + parseFloat(b.dataset.skip))));
  document.querySelectorAll("[data-frame]").forEach(b => b.addEventListener("click", () => { v.pause(); seek(v.currentTime + FRAME * parseFloat(b.dataset.frame)); }));
  const toggle = () => v.paused ? v.play() : v.pause();
  document.getElementById("play").addEventListener("click", toggle);
  document.getElementById("rate").addEventListener("change", e => { v.playbackRate = parseFloat(e.target.value); });
  const orig = document.getElementById("toggle-original");
  if (orig) orig.addEventListener("click", () => {
    const t = v.currentTime, playing = !v.paused, toOriginal = !v.src.endsWith(v.dataset.original);
    v.src = toOriginal ? v.dataset.original : v.dataset.proxy;
    document.getElementById("rendition").textContent = toOriginal ? "original" : "proxy";
    orig.textContent = toOriginal ? "Play the proxy" : "Play the original";
    v.addEventListener("loadedmetadata", () => { v.currentTime = t; if (playing) v.play(); }, {once: true});
  });
  const setIn = document.getElementById("set-in"), setOut = document.getElementById("set-out");
  if (setIn) setIn.addEventListener("click", () => { document.getElementById("in").value = v.currentTime.toFixed(2); });
  if (setOut) setOut.addEventListener("click", () => { document.getElementById("out").value = v.currentTime.toFixed(2); });
  document.addEventListener("keydown", e => {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key;
    if (k === " " && e.target === v) return;  // the video's own control handles it
    if (k === "k" || k === " ") { toggle(); e.preventDefault(); }
    else if (k === "j") seek(v.currentTime - 5);
    else if (k === "l") seek(v.currentTime + 5);
    else if (k === "ArrowLeft" && e.target !== v) seek(v.currentTime - 1);
    else if (k === "ArrowRight" && e.target !== v) seek(v.currentTime + 1);
    else if (k === ",") { v.pause(); seek(v.currentTime - FRAME); }
    else if (k === ".") { v.pause(); seek(v.currentTime + FRAME); }
    else if (k === "i" && setIn) setIn.click();
    else if (k === "o" && setOut) setOut.click();
  });
  // GNSS track as a plain plot (no map tiles): x = longitude, y = latitude, equal scale.
  const track = JSON.parse(document.currentScript.dataset.track);
  let at = () => {};
  if (track.length > 1 && document.getElementById("map")) {
    const lats = track.map(p => p[0]), lons = track.map(p => p[1]);
    const lat0 = Math.min(...lats), lat1 = Math.max(...lats), lon0 = Math.min(...lons), lon1 = Math.max(...lons);
    const k = Math.cos((lat0 + lat1) / 2 * Math.PI / 180);
    const span = Math.max((lon1 - lon0) * k, lat1 - lat0, 1e-6);
    const xy = p => [20 + ((p[1] - lon0) * k) / span * 260, 180 - (p[0] - lat0) / span * 160];
    document.getElementById("track").setAttribute("points", track.map(p => xy(p).join(",")).join(" "));
    const pos = document.getElementById("pos"), label = document.getElementById("latlon");
    at = t => {
      let p = track[0];
      for (const q of track) { if (q[2] <= t) p = q; else break; }
      const [x, y] = xy(p);
      pos.setAttribute("cx", x); pos.setAttribute("cy", y);
      label.textContent = p[0].toFixed(5) + ", " + p[1].toFixed(5);
    };
    at(0);
  }
  // Transcript lines (buttons of class "seek": a click plays from the line) follow playback.
  const lines = [...document.querySelectorAll("#transcript-lines li")];
  const follow = t => {
    let cur = null;
    for (const li of lines) { if (parseFloat(li.querySelector("button").dataset.at) <= t) cur = li; else break; }
    lines.forEach(li => li.classList.toggle("current", li === cur));
  };
  v.addEventListener("timeupdate", () => { clock.textContent = v.currentTime.toFixed(1) + " s"; at(v.currentTime); if (lines.length) follow(v.currentTime); });
  // Progress of clips being made (long jobs).
  document.querySelectorAll("li.job").forEach(li => {
    const poll = () => fetch(li.dataset.poll).then(r => r.json()).then(j => {
      li.querySelector("progress").value = j.progress || 0;
      if (j.status === "succeeded") location.reload();
      else if (j.status === "failed") li.textContent = "Clip failed: " + j.error;
      else setTimeout(poll, 1000);
    });
    poll();
  });
})();
