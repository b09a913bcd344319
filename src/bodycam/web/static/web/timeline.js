(function () {
  const data = JSON.parse(document.currentScript.dataset.timeline);
  const origin = new Date(data.origin);
  const lanes = data.lanes.map((lane, i) => ({lane, el: document.querySelector(`[data-lane="${i}"]`),
    v: document.querySelector(`[data-lane="${i}"] video`), clip: null}));
  let t = 0, playing = false, last = performance.now();
  const clipAt = (lane, t) => lane.clips.find(c => t >= c.start && t < c.start + c.duration) || null;

  function load(l, c, t) {
    l.clip = c;
    l.v.dataset.clipStart = c ? c.start : "";
    l.v.dataset.clip = c ? c.id : "";
    l.el.classList.toggle("gap", !c);
    if (!c) { l.v.pause(); l.v.removeAttribute("src"); l.v.load(); return; }
    l.v.src = c.src;
    l.v.addEventListener("loadedmetadata", () => { l.v.currentTime = Math.max(0, t - c.start); if (playing) l.v.play().catch(() => {}); }, {once: true});
  }
  function sync(l, t, hard, leader) {
    const c = clipAt(l.lane, t);
    if (c !== l.clip) return load(l, c, t);
    if (!c || l.v.readyState < 1) return;
    const expected = t - c.start, drift = l.v.currentTime - expected;
    if (hard || Math.abs(drift) > 0.3) { l.v.currentTime = Math.max(0, expected); l.v.playbackRate = 1; }
    else if (l !== leader) l.v.playbackRate = Math.abs(drift) > 0.02 ? Math.min(1.1, Math.max(0.9, 1 - drift)) : 1;
    if (playing && l.v.paused && !l.v.ended) l.v.play().catch(() => {});
    if (!playing && !l.v.paused) l.v.pause();
  }
  const pos = document.getElementById("tl-pos"), btn = document.getElementById("tl-play");
  function show() {
    pos.value = t.toFixed(2);
    document.getElementById("tl-clock").textContent = t.toFixed(1) + " s";
    document.getElementById("tl-wall").textContent = new Date(origin.getTime() + t * 1000).toISOString().replace(".000Z", "Z");
    document.getElementById("cursor").style.left = (t / data.duration * 100) + "%";
  }
  function setPlaying(p) {
    playing = p; btn.textContent = p ? "Pause" : "Play"; last = performance.now();
    lanes.forEach(l => { if (!p) l.v.pause(); sync(l, t, !p, null); });
  }
  function seekTo(x) { t = Math.max(0, Math.min(data.duration, x)); lanes.forEach(l => sync(l, t, true, null)); show(); }
  function tick(now) {
    if (playing) {
      // The first camera that is really playing is the clock; the others follow it.
      const leader = lanes.find(l => l.clip && !l.v.paused && !l.v.seeking && l.v.readyState >= 3);
      if (leader) t = leader.clip.start + leader.v.currentTime;
      else t += (now - last) / 1000;
      if (t >= data.duration) { t = data.duration; setPlaying(false); }
      lanes.forEach(l => sync(l, t, false, leader));
      show();
    }
    last = now;
    requestAnimationFrame(tick);
  }
  btn.addEventListener("click", () => setPlaying(!playing));
  pos.addEventListener("input", () => seekTo(parseFloat(pos.value)));
  document.querySelectorAll("input[name=audio]").forEach(r => r.addEventListener("change", () =>
    lanes.forEach((l, i) => { l.v.muted = String(i) !== r.value; })));
  lanes.forEach((l, i) => { l.v.muted = i !== 0; });
  document.addEventListener("keydown", e => {
    if (e.target.closest("input[type=text], textarea, select")) return;
    if (e.key === "k" || e.key === " ") { setPlaying(!playing); e.preventDefault(); }
    else if (e.key === "j") seekTo(t - 5);
    else if (e.key === "l") seekTo(t + 5);
  });
  window.bodycamTimeline = {seek: seekTo, state: () => ({t, playing, lanes: lanes.map(l => ({device: l.lane.device,
    clip: l.clip && l.clip.id, wall: l.clip ? l.clip.start + l.v.currentTime : null, paused: l.v.paused}))})};
  seekTo(0);
  requestAnimationFrame(tick);
})();
