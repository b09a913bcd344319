(function () {
  // One transport for every camera. The timeline has its own master clock (real time from
  // when play was pressed); every player, the first included, is compared with it several
  // times a second and corrected: a small drift by nudging its playback rate, a large one by
  // seeking. The check runs on a timer, not only on animation frames, so it goes on when
  // frames are slow (a loaded machine) or stop (a hidden tab). While a player that should be
  // playing is still buffering, the clock waits for it (at most HOLD_MAX_MS each time).
  const TOLERANCE = 0.04;    // s: closer than this a player runs at normal speed
  const SEEK_OVER = 0.5;     // s: further off than this a player seeks
  const CORRECT_IN = 1.0;    // s: a drift below SEEK_OVER is taken up over about this long
  const MAX_NUDGE = 0.5;     // playback rate stays within 1 ± this
  const CHECK_MS = 100;
  const HOLD_MAX_MS = 3000;
  const data = JSON.parse(document.currentScript.dataset.timeline);
  const origin = new Date(data.origin);
  // Wall-clock time as every page shows it: the agency's zone, whole seconds, UTC on hover.
  const ZONE = document.currentScript.dataset.zone || "UTC";
  const parts = new Intl.DateTimeFormat("en-US", {timeZone: ZONE, weekday: "short", day: "numeric", month: "short",
    year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short"});
  const readable = d => {
    const p = Object.fromEntries(parts.formatToParts(d).map(x => [x.type, x.value]));
    return `${p.weekday} ${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
  };
  const utc = d => d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  const lanes = data.lanes.map((lane, i) => ({lane, el: document.querySelector(`[data-lane="${i}"]`),
    v: document.querySelector(`[data-lane="${i}"] video`), clip: null, drift: null}));
  let t = 0, playing = false, holding = false, anchor = {wall: performance.now(), t: 0}, stallSince = null;
  const clipAt = (lane, t) => lane.clips.find(c => t >= c.start && t < c.start + c.duration) || null;

  function load(l, c) {
    l.clip = c;
    l.drift = null;
    l.v.dataset.clipStart = c ? c.start : "";
    l.v.dataset.clip = c ? c.id : "";
    l.el.classList.toggle("gap", !c);
    if (!c) { l.v.pause(); l.v.removeAttribute("src"); l.v.load(); return; }
    l.v.src = c.src;
    l.v.addEventListener("loadedmetadata", () => { l.v.currentTime = Math.max(0, t - c.start); }, {once: true});
  }
  // A player that should be showing footage now but cannot play yet (loading, buffering).
  const stalled = l => l.clip && !l.v.error && !l.v.ended && (l.v.readyState < 3 || l.v.seeking);

  function correct(l) {
    const c = clipAt(l.lane, t);
    if (c !== l.clip) return load(l, c);
    if (!c || l.v.readyState < 1 || l.v.error) return;
    const expected = t - c.start, drift = l.v.currentTime - expected;
    l.drift = l.v.seeking || l.v.ended ? null : drift;
    if (!playing || holding) {
      if (!l.v.paused) l.v.pause();
      l.v.playbackRate = 1;
      if (!playing && !l.v.seeking && Math.abs(drift) > TOLERANCE) l.v.currentTime = Math.max(0, expected);
      return;
    }
    if (l.v.ended) return;
    if (!l.v.seeking) {
      if (Math.abs(drift) > SEEK_OVER) { l.v.currentTime = Math.max(0, expected); l.v.playbackRate = 1; }
      else if (Math.abs(drift) > TOLERANCE) l.v.playbackRate = 1 - Math.max(-MAX_NUDGE, Math.min(MAX_NUDGE, drift / CORRECT_IN));
      else l.v.playbackRate = 1;
    }
    if (l.v.paused) l.v.play().catch(() => {});
  }

  // The master clock: real time since play (or the last seek or wait) was pressed.
  const clock = now => Math.min(data.duration, playing && !holding ? anchor.t + (now - anchor.wall) / 1000 : t);
  function step() {
    const now = performance.now();
    if (playing) {
      const waiting = lanes.some(stalled);
      if (waiting && stallSince === null) stallSince = now;
      if (!waiting) stallSince = null;
      const hold = waiting && now - stallSince < HOLD_MAX_MS;
      t = clock(now);
      if (hold) anchor = {wall: now, t};  // the clock waits where it is
      holding = hold;
      if (t >= data.duration) { t = data.duration; setPlaying(false); return; }
    }
    lanes.forEach(correct);
  }

  const pos = document.getElementById("tl-pos"), btn = document.getElementById("tl-play");
  function show() {
    pos.value = t.toFixed(2);
    document.getElementById("tl-clock").textContent = t.toFixed(1) + " s";
    const wall = new Date(origin.getTime() + Math.floor(t) * 1000), out = document.getElementById("tl-wall");
    out.textContent = readable(wall);
    out.title = utc(wall);
    document.getElementById("cursor").style.left = (t / data.duration * 100) + "%";
  }
  function setPlaying(p) {
    if (p && t >= data.duration) t = 0;
    playing = p; holding = false; stallSince = null;
    anchor = {wall: performance.now(), t};
    btn.textContent = p ? "Pause" : "Play";
    lanes.forEach(correct);
    show();
  }
  function seekTo(x) {
    t = Math.max(0, Math.min(data.duration, x));
    anchor = {wall: performance.now(), t};
    lanes.forEach(l => { if (l.clip && l.clip === clipAt(l.lane, t) && l.v.readyState >= 1) l.v.currentTime = Math.max(0, t - l.clip.start); });
    lanes.forEach(correct);
    show();
  }
  function frame() { if (playing) show(); requestAnimationFrame(frame); }
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
  // For tests and support: the master clock and each player's place and drift (seconds).
  window.bodycamTimeline = {seek: seekTo, tolerance: TOLERANCE, state: () => {
    const ls = lanes.map(l => ({device: l.lane.device, clip: l.clip && l.clip.id, paused: l.v.paused,
      wall: l.clip ? l.clip.start + l.v.currentTime : null, drift: l.drift, rate: l.v.playbackRate}));
    const drifts = ls.filter(l => !l.paused && l.drift !== null).map(l => Math.abs(l.drift));
    return {t: clock(performance.now()), playing, holding, lanes: ls, maxDrift: drifts.length ? Math.max(...drifts) : null};
  }};
  seekTo(0);
  setInterval(step, CHECK_MS);
  requestAnimationFrame(frame);
})();
